with

trips as (

    select * from {{ ref('stg_freshliance__trips') }}

),

profile_rules as (

    select * from {{ ref('trip_profile_rules') }}

),

trip_history as (

    select
        trip_id,
        min(fetched_at) as first_seen_at,
        max(fetched_at) as last_seen_at,
        max(snapshot_date) as last_snapshot_date

    from trips

    group by trip_id

),

latest_trip_state as (

    -- Trips are synced incrementally, so a trip's state is its row in the newest snapshot
    -- that holds it, not necessarily the newest snapshot overall.
    select * from trips

    qualify row_number() over (
        partition by trip_id
        order by snapshot_date desc, fetched_at desc
    ) = 1

),

profile_matches as (

    -- The first rule (lowest priority, then pattern) that matches the trip's code or goods.
    select
        latest_trip_state.trip_id,
        profile_rules.profile as alarm_profile,
        profile_rules.match_on as alarm_profile_source,
        profile_rules.pattern as alarm_profile_pattern

    from latest_trip_state

    inner join profile_rules
        on
            (
                profile_rules.match_on = 'trip_code'
                and latest_trip_state.trip_code ilike profile_rules.pattern
            )
            or (
                profile_rules.match_on = 'goods_name'
                and latest_trip_state.goods_name ilike profile_rules.pattern
            )

    qualify row_number() over (
        partition by latest_trip_state.trip_id
        order by profile_rules.priority, profile_rules.pattern
    ) = 1

),

joined as (

    select
        latest_trip_state.trip_id,
        latest_trip_state.device_id,
        latest_trip_state.device_code,
        latest_trip_state.device_name,
        latest_trip_state.trip_status,
        latest_trip_state.trip_status = 'end' as is_ended,
        latest_trip_state.trip_code,
        latest_trip_state.asset_code,
        latest_trip_state.goods_name,
        latest_trip_state.vehicle_info,
        latest_trip_state.carrier,
        latest_trip_state.consignee,
        latest_trip_state.begin_route,
        latest_trip_state.end_route,
        concat_ws(' -> ', latest_trip_state.begin_route, latest_trip_state.end_route) as lane,

        coalesce(
            profile_matches.alarm_profile, '{{ var("default_alarm_profile") }}'
        ) as alarm_profile,
        coalesce(profile_matches.alarm_profile_source, 'default') as alarm_profile_source,
        profile_matches.alarm_profile_pattern,

        latest_trip_state.expected_begin_at,
        latest_trip_state.expected_end_at,
        latest_trip_state.actual_begin_at,
        latest_trip_state.actual_end_at,
        epoch(
            latest_trip_state.actual_begin_at - latest_trip_state.expected_begin_at
        ) / 60.0 as begin_delay_min,
        epoch(
            latest_trip_state.actual_end_at - latest_trip_state.expected_end_at
        ) / 60.0 as end_delay_min,
        epoch(
            latest_trip_state.expected_end_at - latest_trip_state.expected_begin_at
        ) / 60.0 as expected_duration_min,
        epoch(
            latest_trip_state.actual_end_at - latest_trip_state.actual_begin_at
        ) / 60.0 as actual_duration_min,

        trip_history.first_seen_at,
        trip_history.last_seen_at,
        trip_history.last_snapshot_date

    from latest_trip_state

    inner join trip_history
        on latest_trip_state.trip_id = trip_history.trip_id

    left join profile_matches
        on latest_trip_state.trip_id = profile_matches.trip_id

)

select * from joined
