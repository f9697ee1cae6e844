with

trips as (

    select * from {{ ref('dim_trips') }}

),

devices as (

    select * from {{ ref('dim_devices') }}

),

readings as (

    select * from {{ ref('fct_readings') }}

),

weighted_readings as (

    select * from {{ ref('int_readings_weighted') }}

),

excursions as (

    select * from {{ ref('fct_excursions') }}

),

alarm_profiles as (

    select * from {{ ref('alarm_profiles') }}

),

probe_spine as (

    -- Every trip gets a row for its built-in sensor, and one for the external probe when its
    -- device has ever reported one; any other probe with readings gets a row too.
    select
        trip_id,
        0 as probe_type

    from trips

    union

    select
        trips.trip_id,
        1 as probe_type

    from trips

    inner join devices
        on trips.device_id = devices.device_id

    where devices.has_external_probe

    union

    select distinct
        trip_id,
        probe_type

    from readings

),

reading_stats as (

    select
        trip_id,
        probe_type,
        count(*) as reading_count,
        count(temperature_c) as temperature_reading_count,
        cast(count_if(is_temperature_sentinel) as bigint) as sentinel_reading_count,
        cast(count_if(has_conflicting_fetches) as bigint) as conflicting_reading_count,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at,
        min(temperature_c) as min_temperature_c,
        max(temperature_c) as max_temperature_c,
        avg(temperature_c) as mean_temperature_c,
        median(epoch(first_fetched_at - reading_at)) as median_upload_lag_s,
        max(epoch(first_fetched_at - reading_at)) as max_upload_lag_s

    from readings

    group by trip_id, probe_type

),

time_stats as (

    select
        trip_id,
        probe_type,
        any_value(logging_interval_s) as logging_interval_s,
        min(reading_at) as first_temperature_at,
        max(reading_at) as last_temperature_at,
        sum(weight_s) as covered_s,
        sum(case when range_status = 'in_range' then weight_s else 0 end) as time_in_range_s,
        sum(case when range_status = 'above' then weight_s else 0 end) as time_above_s,
        sum(case when range_status = 'below' then weight_s else 0 end) as time_below_s,
        cast(count_if(is_gap_after) as bigint) as gap_count,
        sum(gap_after_s) as gap_s,
        sum(weight_s * temperature_c) / nullif(sum(weight_s), 0)
            as time_weighted_mean_temperature_c,
        -- Interval-weighted mean kinetic temperature, in kelvin inside, reported in degC:
        -- MKT = (dH/R) / -ln( sum(w * exp(-(dH/R) / T)) / sum(w) ), T = t + 273.15.
        -- Rounded to 0.001 degC, well below the sensors' 0.1 degC, so hand calculations and
        -- unit tests can state it exactly.
        round(
            {{ var('mkt_delta_h_over_r_k') }} / -ln(
                sum(weight_s * exp(-{{ var('mkt_delta_h_over_r_k') }} / (temperature_c + 273.15)))
                / nullif(sum(weight_s), 0)
            ) - 273.15,
            3
        ) as mkt_c

    from weighted_readings

    group by trip_id, probe_type

),

excursion_stats as (

    select
        trip_id,
        probe_type,
        count(*) as excursion_count,
        cast(count_if(direction = 'high') as bigint) as high_excursion_count,
        cast(count_if(direction = 'low') as bigint) as low_excursion_count,
        max(duration_s) as longest_excursion_s,
        sum(duration_s) as excursion_s,
        min(started_at) as first_excursion_at

    from excursions

    group by trip_id, probe_type

),

joined as (

    select
        probe_spine.trip_id,
        probe_spine.probe_type,
        trips.device_id,
        trips.device_code,
        trips.trip_status,
        trips.lane,
        trips.alarm_profile,
        alarm_profiles.low_c,
        alarm_profiles.high_c,
        alarm_profiles.alarm_delay_min,
        alarm_profiles.alarm_mode,

        reading_stats.trip_id is not null as has_readings,
        reading_stats.reading_count,
        reading_stats.temperature_reading_count,
        reading_stats.sentinel_reading_count,
        reading_stats.conflicting_reading_count,
        reading_stats.first_reading_at,
        reading_stats.last_reading_at,
        reading_stats.median_upload_lag_s,
        reading_stats.max_upload_lag_s,

        time_stats.logging_interval_s,
        cast(
            floor(
                epoch(time_stats.last_temperature_at - time_stats.first_temperature_at)
                / time_stats.logging_interval_s
            ) as bigint
        ) + 1 as expected_reading_count,
        time_stats.gap_count,
        time_stats.gap_s,

        reading_stats.min_temperature_c,
        reading_stats.max_temperature_c,
        reading_stats.mean_temperature_c,
        time_stats.time_weighted_mean_temperature_c,
        time_stats.mkt_c,

        time_stats.covered_s,
        time_stats.time_in_range_s,
        time_stats.time_above_s,
        time_stats.time_below_s,

        case
            when time_stats.trip_id is not null then coalesce(excursion_stats.excursion_count, 0)
        end as excursion_count,
        case
            when time_stats.trip_id is not null
                then coalesce(excursion_stats.high_excursion_count, 0)
        end as high_excursion_count,
        case
            when time_stats.trip_id is not null
                then coalesce(excursion_stats.low_excursion_count, 0)
        end as low_excursion_count,
        excursion_stats.longest_excursion_s,
        excursion_stats.excursion_s,
        excursion_stats.first_excursion_at,

        case
            when time_stats.trip_id is null then null
            when excursion_stats.excursion_count > 0 then 'fail'
            else 'pass'
        end as verdict

    from probe_spine

    inner join trips
        on probe_spine.trip_id = trips.trip_id

    left join alarm_profiles
        on
            trips.alarm_profile = alarm_profiles.profile
            and probe_spine.probe_type = alarm_profiles.probe_type

    left join reading_stats
        on
            probe_spine.trip_id = reading_stats.trip_id
            and probe_spine.probe_type = reading_stats.probe_type

    left join time_stats
        on
            probe_spine.trip_id = time_stats.trip_id
            and probe_spine.probe_type = time_stats.probe_type

    left join excursion_stats
        on
            probe_spine.trip_id = excursion_stats.trip_id
            and probe_spine.probe_type = excursion_stats.probe_type

)

select * from joined
