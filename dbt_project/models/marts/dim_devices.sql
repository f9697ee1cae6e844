with

devices as (

    select * from {{ ref('stg_freshliance__devices') }}

),

group_devices as (

    select * from {{ ref('stg_freshliance__group_devices') }}

),

device_groups as (

    select * from {{ ref('stg_freshliance__device_groups') }}

),

readings as (

    select * from {{ ref('fct_readings') }}

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

latest_assignment as (

    -- The device model comes only with group assignments; take the newest one.
    select * from group_devices

    qualify row_number() over (
        partition by device_id
        order by snapshot_date desc, fetched_at desc, group_device_id desc
    ) = 1

),

latest_group_names as (

    select * from device_groups

    qualify row_number() over (
        partition by group_id
        order by snapshot_date desc, fetched_at desc
    ) = 1

),

observed_sensors as (

    -- The API lists no sensors per model, so capabilities are what the readings show.
    select
        device_code,
        bool_or(probe_type = 1) as has_external_probe,
        bool_or(probe_type = 0 and humidity_pct is not null) as has_humidity_sensor,
        bool_or(probe_type = 1 and humidity_pct is not null) as has_external_humidity_sensor,
        bool_or(light_lux is not null) as has_light_sensor,
        bool_or(shock_level is not null) as has_shock_sensor,
        bool_or(latitude is not null) as has_gps,
        count(distinct trip_id) as trip_with_readings_count,
        min(reading_at) as first_reading_at,
        max(reading_at) as last_reading_at

    from readings

    group by device_code

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

        latest_assignment.device_type,
        latest_assignment.group_id,
        latest_group_names.group_name,
        latest_assignment.device_status,

        coalesce(observed_sensors.has_external_probe, false) as has_external_probe,
        coalesce(observed_sensors.has_humidity_sensor, false) as has_humidity_sensor,
        coalesce(
            observed_sensors.has_external_humidity_sensor, false
        ) as has_external_humidity_sensor,
        coalesce(observed_sensors.has_light_sensor, false) as has_light_sensor,
        coalesce(observed_sensors.has_shock_sensor, false) as has_shock_sensor,
        coalesce(observed_sensors.has_gps, false) as has_gps,
        coalesce(observed_sensors.trip_with_readings_count, 0) as trip_with_readings_count,
        observed_sensors.first_reading_at,
        observed_sensors.last_reading_at,

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

    left join latest_assignment
        on latest_device_state.device_id = latest_assignment.device_id

    left join latest_group_names
        on latest_assignment.group_id = latest_group_names.group_id

    left join observed_sensors
        on latest_device_state.device_code = observed_sensors.device_code

)

select * from joined
