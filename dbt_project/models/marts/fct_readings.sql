{{
    config(
        materialized='incremental',
        incremental_strategy='replace_reading_dates',
        on_schema_change='fail',
    )
}}

with

readings as (

    select * from {{ ref('stg_freshliance__readings') }}

    {% if is_incremental() %}
        -- Only the days being rebuilt; the strategy replaces exactly those days.
        where {{ reading_dates_predicate('reading_date') }}
    {% endif %}

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
        readings.raw_temperature_c,
        readings.humidity_pct,
        readings.light_lux,
        readings.shock_level,
        readings.latitude,
        readings.longitude,
        readings.is_temperature_sentinel,
        readings.is_humidity_sentinel,

        readings.fetched_at,
        readings.first_fetched_at,
        readings.fetch_count,
        readings.has_conflicting_fetches

    from readings

    left join trips
        on readings.trip_id = trips.trip_id

)

select * from joined
