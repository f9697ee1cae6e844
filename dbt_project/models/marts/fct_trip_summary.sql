with

readings as (

    select * from {{ ref('fct_readings') }}

),

trips as (

    select * from {{ ref('dim_trips') }}

),

trip_probe_stats as (

    select
        trip_id,
        probe_type,
        count(*) as reading_count,
        count(temperature_c) as temperature_reading_count,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at,
        min(temperature_c) as min_temperature_c,
        max(temperature_c) as max_temperature_c,
        avg(temperature_c) as mean_temperature_c

    from readings

    group by trip_id, probe_type

),

joined as (

    select
        trip_probe_stats.trip_id,
        trip_probe_stats.probe_type,
        trips.device_id,
        trips.device_code,
        trips.trip_status,

        trip_probe_stats.reading_count,
        trip_probe_stats.temperature_reading_count,
        trip_probe_stats.first_reading_at,
        trip_probe_stats.last_reading_at,
        trip_probe_stats.min_temperature_c,
        trip_probe_stats.max_temperature_c,
        trip_probe_stats.mean_temperature_c

    from trip_probe_stats

    left join trips
        on trip_probe_stats.trip_id = trips.trip_id

)

select * from joined
