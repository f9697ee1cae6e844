with

source as (

    select * from {{ source('freshliance', 'rejected_readings') }}

),

renamed as (

    select

        ---------- ids
        cast("userDeviceTripId" as bigint) as trip_id,
        cast("deviceCode" as varchar) as device_code,

        ---------- codes
        cast("probeType" as integer) as probe_type,

        ---------- text
        cast("reason" as varchar) as reason,
        cast("detail" as varchar) as detail,
        cast("rawRow" as varchar) as raw_row,
        json_extract_string("rawRow", '$.ts') as sent_ts,
        json_extract_string("rawRow", '$.temperature') as sent_temperature,

        ---------- booleans
        cast("inReadings" as boolean) as is_kept_in_readings,

        ---------- timestamps
        cast("ts" as timestamptz) as reading_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("reading_date" as date) as reading_date

    from source

),

latest_fetch as (

    -- A row with no sound time is filed under the first day of the window that returned it,
    -- so a later sync over other days can file it again: one copy per row as sent.
    select * from renamed

    qualify row_number() over (
        partition by trip_id, probe_type, raw_row
        order by fetched_at desc
    ) = 1

)

select * from latest_fetch
