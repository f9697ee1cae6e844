with

readings as (

    select * from {{ ref('fct_readings') }}

),

trips as (

    select * from {{ ref('dim_trips') }}

),

alarm_profiles as (

    select * from {{ ref('alarm_profiles') }}

),

reading_steps as (

    -- Minutes between consecutive readings of a probe, every reading included (a sentinel
    -- still shows when the device logged).
    select
        trip_id,
        round(
            epoch(reading_at - lag(reading_at) over (
                partition by trip_id, probe_type
                order by reading_at
            )) / 60.0
        ) as step_min

    from readings

),

trip_intervals as (

    -- A trip's logging interval is its most common step, in whole minutes as trackers are
    -- configured (collectInterval); a tie goes to the shorter step. The API does not say
    -- which template a trip uses, so the interval is read off the readings.
    select
        trip_id,
        step_min * 60.0 as logging_interval_s

    from reading_steps

    where step_min >= 1

    group by trip_id, step_min

    qualify row_number() over (
        partition by trip_id
        order by count(*) desc, step_min
    ) = 1

),

temperatures as (

    select
        trip_id,
        probe_type,
        device_id,
        device_code,
        reading_at,
        reading_date,
        temperature_c,
        lead(reading_at) over (
            partition by trip_id, probe_type
            order by reading_at
        ) as next_reading_at

    from readings

    where temperature_c is not null

),

stepped as (

    select
        temperatures.*,
        trip_intervals.logging_interval_s,
        epoch(temperatures.next_reading_at - temperatures.reading_at) as seconds_to_next,
        coalesce(
            epoch(temperatures.next_reading_at - temperatures.reading_at)
            > {{ var('gap_threshold_intervals') }} * trip_intervals.logging_interval_s,
            false
        ) as is_gap_after

    from temperatures

    left join trip_intervals
        on temperatures.trip_id = trip_intervals.trip_id

),

weighted as (

    -- A reading stands for the time until the next one. Before a gap, and at the end of the
    -- series, it stands for one logging interval, as if the next reading had come on time;
    -- the rest of a gap counts as neither in nor out of range.
    select
        *,
        case
            when logging_interval_s is null then 0.0
            when next_reading_at is null or is_gap_after then logging_interval_s
            else seconds_to_next
        end as weight_s,
        case
            when is_gap_after then seconds_to_next - logging_interval_s else 0.0
        end as gap_after_s

    from stepped

),

profiled as (

    select
        weighted.trip_id,
        weighted.probe_type,
        weighted.device_id,
        weighted.device_code,
        weighted.reading_at,
        weighted.reading_date,
        weighted.temperature_c,

        weighted.next_reading_at,
        weighted.logging_interval_s,
        weighted.weight_s,
        weighted.reading_at + to_microseconds(
            cast(round(weighted.weight_s * 1000000) as bigint)
        ) as covered_until_at,
        weighted.is_gap_after,
        weighted.gap_after_s,

        trips.alarm_profile,
        alarm_profiles.low_c,
        alarm_profiles.high_c,
        alarm_profiles.alarm_delay_min,
        alarm_profiles.alarm_mode,
        alarm_profiles.hysteresis_c,
        case
            when alarm_profiles.high_c is null then null
            when weighted.temperature_c > alarm_profiles.high_c then 'above'
            when weighted.temperature_c < alarm_profiles.low_c then 'below'
            else 'in_range'
        end as range_status

    from weighted

    left join trips
        on weighted.trip_id = trips.trip_id

    left join alarm_profiles
        on
            trips.alarm_profile = alarm_profiles.profile
            and weighted.probe_type = alarm_profiles.probe_type

)

select * from profiled
