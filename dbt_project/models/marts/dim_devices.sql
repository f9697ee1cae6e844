with

devices as (

    select * from {{ ref('stg_freshliance__devices') }}

),

latest_snapshot as (

    select max(snapshot_date) as snapshot_date

    from devices

),

device_history as (

    select
        device_id,
        min(fetched_at) as first_seen_at,
        max(fetched_at) as last_seen_at,
        min(snapshot_date) as first_snapshot_date,
        max(snapshot_date) as last_snapshot_date,
        count(*) as snapshot_count

    from devices

    group by device_id

),

latest_device_state as (

    -- A device's state is its row in the newest snapshot that holds it, so a device that
    -- left the account keeps its last known state.
    select * from devices

    qualify row_number() over (
        partition by device_id
        order by snapshot_date desc, fetched_at desc
    ) = 1

),

joined as (

    select
        latest_device_state.device_id,
        latest_device_state.device_code,
        latest_device_state.device_name,
        latest_device_state.latest_trip_id,
        latest_device_state.use_type,
        latest_device_state.use_type = 1 as is_multi_use,
        latest_device_state.battery_pct,
        latest_device_state.battery_at,
        latest_device_state.latitude,
        latest_device_state.longitude,
        latest_device_state.bind_at,

        device_history.first_seen_at,
        device_history.last_seen_at,
        device_history.first_snapshot_date,
        device_history.last_snapshot_date,
        device_history.snapshot_count,
        device_history.last_snapshot_date = latest_snapshot.snapshot_date as is_current

    from latest_device_state

    inner join device_history
        on latest_device_state.device_id = device_history.device_id

    cross join latest_snapshot

)

select * from joined
