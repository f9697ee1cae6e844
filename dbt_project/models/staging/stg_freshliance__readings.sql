with

source as (

    select * from {{ source('freshliance', 'readings') }}

),

renamed as (

    select

        ---------- ids
        cast("userDeviceTripId" as bigint) as trip_id,
        cast("deviceCode" as varchar) as device_code,

        ---------- codes
        -- 0 = built-in sensor, 1 = external probe.
        cast("probeType" as integer) as probe_type,

        ---------- numerics
        cast("temperature" as double) as temperature_c,
        cast("humidity" as double) as humidity_pct,
        cast("light" as double) as light_lux,
        cast("shock" as integer) as shock_level,
        cast("latitude" as double) as latitude,
        cast("longitude" as double) as longitude,

        ---------- timestamps
        cast("ts" as timestamptz) as reading_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("reading_date" as date) as reading_date

    from source

),

deduplicated as (

    -- A reading fetched more than once (overlapping windows, late re-fetches) keeps the
    -- latest fetch: it reflects the gateway's most recent answer.
    select * from renamed

    qualify row_number() over (
        partition by trip_id, probe_type, reading_at
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
