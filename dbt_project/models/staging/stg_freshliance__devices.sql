with

source as (

    select * from {{ source('freshliance', 'devices') }}

),

renamed as (

    select

        ---------- ids
        cast("userDeviceId" as bigint) as device_id,
        cast("userDeviceTripId" as bigint) as latest_trip_id,
        cast("deviceCode" as varchar) as device_code,

        ---------- text
        cast("customName" as varchar) as device_name,

        ---------- codes
        cast("useType" as integer) as use_type,

        ---------- numerics
        cast("battery" as integer) as battery_pct,
        cast("latitude" as double) as latitude,
        cast("longitude" as double) as longitude,

        ---------- timestamps
        cast("bindTime" as timestamptz) as bind_at,
        cast("batteryTime" as timestamptz) as battery_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by device_id, snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
