with

source as (

    select * from {{ source('freshliance', 'account') }}

),

renamed as (

    select

        ---------- text
        cast("email" as varchar) as email,
        cast("nickname" as varchar) as nickname,
        cast("timeZone" as varchar) as time_zone,

        ---------- codes
        cast("language" as integer) as language_code,
        cast("dateFormat" as integer) as date_format_code,
        cast("temperatureUnit" as integer) as temperature_unit_code,

        ---------- numerics
        cast("chnSmsNum" as bigint) as cn_sms_remaining,
        cast("intSmsNum" as bigint) as intl_sms_remaining,
        cast("chnVoiceNum" as bigint) as cn_voice_remaining,
        cast("intVoiceNum" as bigint) as intl_voice_remaining,

        ---------- timestamps
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
