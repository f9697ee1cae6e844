with

source as (

    select * from {{ source('freshliance', 'config_templates') }}

),

renamed as (

    select

        ---------- ids
        cast("tripConfigTemplateId" as bigint) as template_id,

        ---------- text
        cast("templateName" as varchar) as template_name,
        cast("email" as varchar) as notification_emails,
        -- phoneList is kept as JSON text in the lake so no nested field is lost.
        cast("phoneList" as varchar) as phone_list_json,

        ---------- numerics
        cast("startDelay" as integer) as start_delay_min,
        cast("collectInterval" as integer) as logging_interval_min,
        cast("activeTime" as integer) as upload_interval_min,

        ---------- booleans
        cast("buttonFlag" as boolean) as is_button_stop_enabled,
        cast("gpsFlag" as boolean) as is_gps_enabled,
        cast("wifiFlag" as boolean) as is_wifi_enabled,
        cast("flightFlag" as boolean) as is_flight_mode_enabled,
        cast("lightFlag" as boolean) as is_light_detection_enabled,
        cast("shockFlag" as boolean) as is_shock_detection_enabled,

        ---------- timestamps
        cast("flightStartTime" as timestamptz) as flight_start_at,
        cast("flightEndTime" as timestamptz) as flight_end_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by template_id, snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
