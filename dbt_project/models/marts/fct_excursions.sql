with

readings as (

    select * from {{ ref('int_readings_weighted') }}

),

band_flags as (

    -- Hysteresis: a run that went above high_c lasts until a reading at or below
    -- high_c - hysteresis_c (below low_c: until one at or above low_c + hysteresis_c).
    -- A gap breaks every run: what happened in it is unknown.
    select
        *,
        temperature_c > high_c - hysteresis_c as is_in_high_band,
        temperature_c < low_c + hysteresis_c as is_in_low_band,
        coalesce(
            lag(is_gap_after) over (
                partition by trip_id, probe_type
                order by reading_at
            ),
            false
        ) as follows_gap

    from readings

    where high_c is not null

),

bands as (

    -- A band is a stretch of consecutive readings inside the hysteresis band; it restarts
    -- after each reading outside it and after each gap.
    select
        *,
        sum(case when not is_in_high_band or follows_gap then 1 else 0 end) over (
            partition by trip_id, probe_type
            order by reading_at
            rows between unbounded preceding and current row
        ) as high_band_id,
        sum(case when not is_in_low_band or follows_gap then 1 else 0 end) over (
            partition by trip_id, probe_type
            order by reading_at
            rows between unbounded preceding and current row
        ) as low_band_id

    from band_flags

),

states as (

    -- Inside a band, the run starts at the first reading beyond the limit and holds to the
    -- end of the band.
    select
        *,
        case
            when is_in_high_band and bool_or(temperature_c > high_c) over (
                partition by trip_id, probe_type, high_band_id
                order by reading_at
                rows between unbounded preceding and current row
            ) then 'high'
            when is_in_low_band and bool_or(temperature_c < low_c) over (
                partition by trip_id, probe_type, low_band_id
                order by reading_at
                rows between unbounded preceding and current row
            ) then 'low'
        end as excursion_state

    from bands

),

run_starts as (

    select
        *,
        excursion_state is not null
        and (
            follows_gap
            or excursion_state is distinct from lag(excursion_state) over (
                partition by trip_id, probe_type
                order by reading_at
            )
        ) as is_run_start

    from states

),

numbered as (

    select
        *,
        sum(case when is_run_start then 1 else 0 end) over (
            partition by trip_id, probe_type
            order by reading_at
            rows between unbounded preceding and current row
        ) as run_number

    from run_starts

),

runs as (

    -- Each reading of a run stands for weight_s seconds, so the run lasts from its first
    -- reading to the end of its last reading's interval (the next, in-range, reading).
    select
        trip_id,
        probe_type,
        run_number,
        excursion_state as direction,
        any_value(device_id) as device_id,
        any_value(device_code) as device_code,
        any_value(alarm_profile) as alarm_profile,
        any_value(low_c) as low_c,
        any_value(high_c) as high_c,
        any_value(alarm_delay_min) as alarm_delay_min,
        any_value(alarm_mode) as alarm_mode,
        any_value(hysteresis_c) as hysteresis_c,
        min(reading_at) as started_at,
        max(covered_until_at) as ended_at,
        max(reading_at) as last_reading_at,
        sum(weight_s) as duration_s,
        count(*) as reading_count,
        case
            when excursion_state = 'high' then max(temperature_c) else min(temperature_c)
        end as peak_temperature_c,
        case
            when excursion_state = 'high'
                then arg_max(reading_at, temperature_c)
            else arg_min(reading_at, temperature_c)
        end as peak_at

    from numbered

    where excursion_state is not null

    group by trip_id, probe_type, run_number, excursion_state

),

cumulated as (

    select
        *,
        sum(duration_s) over (
            partition by trip_id, probe_type, direction
            order by started_at
            rows between unbounded preceding and current row
        ) as cumulative_duration_s

    from runs

),

alarmed as (

    -- single: a run is an excursion once it lasts alarm_delay_min. cumulative: once the
    -- trip's runs in that direction add up to alarm_delay_min, that run and every later one.
    select
        *,
        case
            when alarm_mode = 'cumulative'
                then cumulative_duration_s >= alarm_delay_min * 60
            else duration_s >= alarm_delay_min * 60
        end as is_excursion,
        case
            when alarm_mode = 'cumulative'
                then greatest(
                    alarm_delay_min * 60 - (cumulative_duration_s - duration_s), 0
                )
            else alarm_delay_min * 60
        end as seconds_to_alarm

    from cumulated

),

excursions as (

    select
        concat_ws(
            '-', trip_id, probe_type, epoch_ms(started_at)
        ) as excursion_id,
        trip_id,
        probe_type,
        device_id,
        device_code,
        direction,

        started_at,
        ended_at,
        last_reading_at,
        started_at + to_seconds(seconds_to_alarm) as alarm_at,
        duration_s,
        cumulative_duration_s,
        reading_count,

        peak_temperature_c,
        peak_at,
        case
            when direction = 'high' then peak_temperature_c - high_c
            else low_c - peak_temperature_c
        end as peak_deviation_c,

        alarm_profile,
        low_c,
        high_c,
        alarm_delay_min,
        alarm_mode,
        hysteresis_c,
        row_number() over (
            partition by trip_id, probe_type
            order by started_at
        ) as excursion_number

    from alarmed

    where is_excursion

)

select * from excursions
