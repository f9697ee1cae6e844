with

devices as (

    select * from {{ ref('dim_devices') }}

),

device_snapshots as (

    select * from {{ ref('stg_freshliance__devices') }}

),

readings as (

    select * from {{ ref('fct_readings') }}

),

weighted_readings as (

    select * from {{ ref('int_readings_weighted') }}

),

device_readings as (

    -- Readings carry the device code; the device id comes from dim_devices.
    select
        devices.device_id,
        readings.*

    from readings

    inner join devices
        on readings.device_code = devices.device_code

),

reading_days as (

    select
        device_id,
        reading_date as activity_date,
        count(distinct trip_id) as trip_count,
        count(*) as reading_count,
        count(temperature_c) as temperature_reading_count,
        min(temperature_c) as min_temperature_c,
        max(temperature_c) as max_temperature_c,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at

    from device_readings

    group by device_id, reading_date

),

gap_days as (

    -- A gap belongs to the day of the reading before it.
    select
        devices.device_id,
        weighted_readings.reading_date as activity_date,
        cast(count_if(weighted_readings.is_gap_after) as bigint) as gap_count,
        sum(weighted_readings.gap_after_s) as gap_s

    from weighted_readings

    inner join devices
        on weighted_readings.device_code = devices.device_code

    group by devices.device_id, weighted_readings.reading_date

),

reading_positions as (

    select
        device_id,
        reading_date as activity_date,
        reading_at as last_position_at,
        latitude as last_latitude,
        longitude as last_longitude

    from device_readings

    where latitude is not null and longitude is not null

    qualify row_number() over (
        partition by device_id, reading_date
        order by reading_at desc, probe_type asc
    ) = 1

),

snapshot_days as (

    -- With one devices snapshot a day (the usual case), battery min and max are equal.
    select
        device_id,
        snapshot_date as activity_date,
        min(battery_pct) as battery_min_pct,
        max(battery_pct) as battery_max_pct,
        arg_max(latitude, fetched_at) as snapshot_latitude,
        arg_max(longitude, fetched_at) as snapshot_longitude

    from device_snapshots

    group by device_id, snapshot_date

),

device_days as (

    select
        device_id,
        activity_date

    from reading_days

    union

    select
        device_id,
        activity_date

    from snapshot_days

),

joined as (

    select
        device_days.device_id,
        device_days.activity_date,
        devices.device_code,

        coalesce(reading_days.trip_count, 0) as trip_count,
        coalesce(reading_days.reading_count, 0) as reading_count,
        coalesce(reading_days.temperature_reading_count, 0) as temperature_reading_count,
        coalesce(gap_days.gap_count, 0) as gap_count,
        coalesce(gap_days.gap_s, 0) as gap_s,
        reading_days.min_temperature_c,
        reading_days.max_temperature_c,
        reading_days.first_reading_at,
        reading_days.last_reading_at,

        snapshot_days.battery_min_pct,
        snapshot_days.battery_max_pct,

        -- The last GPS fix of the day; without one, the position the device row reported
        -- that day (the API gives no time for it, so last_position_at stays null).
        reading_positions.last_position_at,
        coalesce(
            reading_positions.last_latitude, snapshot_days.snapshot_latitude
        ) as last_latitude,
        coalesce(
            reading_positions.last_longitude, snapshot_days.snapshot_longitude
        ) as last_longitude,
        case
            when reading_positions.last_position_at is not null then 'reading'
            when snapshot_days.snapshot_latitude is not null then 'device_snapshot'
        end as last_position_source

    from device_days

    inner join devices
        on device_days.device_id = devices.device_id

    left join reading_days
        on
            device_days.device_id = reading_days.device_id
            and device_days.activity_date = reading_days.activity_date

    left join gap_days
        on
            device_days.device_id = gap_days.device_id
            and device_days.activity_date = gap_days.activity_date

    left join reading_positions
        on
            device_days.device_id = reading_positions.device_id
            and device_days.activity_date = reading_positions.activity_date

    left join snapshot_days
        on
            device_days.device_id = snapshot_days.device_id
            and device_days.activity_date = snapshot_days.activity_date

)

select * from joined
