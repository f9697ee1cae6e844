with

source as (

    select * from {{ source('freshliance', 'group_devices') }}

),

renamed as (

    select

        ---------- ids
        cast("userGroupDeviceId" as bigint) as group_device_id,
        cast("userGroupId" as bigint) as group_id,
        cast("userDeviceId" as bigint) as device_id,
        cast("deviceCode" as varchar) as device_code,

        ---------- text
        cast("customName" as varchar) as device_name,
        cast("deviceType" as varchar) as device_type,
        cast("deviceStatus" as varchar) as device_status,
        cast("tripStatus" as varchar) as trip_status,
        cast("tripCode" as varchar) as trip_code,
        cast("goodsName" as varchar) as goods_name,

        ---------- booleans
        cast("alarmFlag" as boolean) as has_alarm,

        ---------- timestamps
        cast("expectedBeginTime" as timestamptz) as expected_begin_at,
        cast("expectedEndTime" as timestamptz) as expected_end_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by group_device_id, snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
