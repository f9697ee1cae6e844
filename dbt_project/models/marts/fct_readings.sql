with

readings as (

    select * from {{ ref('stg_freshliance__readings') }}

),

trips as (

    select * from {{ ref('dim_trips') }}

),

joined as (

    select
        readings.trip_id,
        trips.device_id,
        readings.device_code,
        readings.probe_type,
        readings.reading_at,
        readings.reading_date,

        readings.temperature_c,
        readings.humidity_pct,
        readings.light_lux,
        readings.shock_level,
        readings.latitude,
        readings.longitude,

        readings.fetched_at

    from readings

    left join trips
        on readings.trip_id = trips.trip_id

)

select * from joined
