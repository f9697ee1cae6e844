with

source as (

    select * from {{ source('freshliance', 'trips') }}

),

renamed as (

    select

        ---------- ids
        cast("userDeviceTripId" as bigint) as trip_id,
        cast("userDeviceId" as bigint) as device_id,
        cast("deviceCode" as varchar) as device_code,
        cast("tripCode" as varchar) as trip_code,
        cast("assetCode" as varchar) as asset_code,

        ---------- text
        cast("tripStatus" as varchar) as trip_status,
        cast("customName" as varchar) as device_name,
        cast("goodsName" as varchar) as goods_name,
        cast("vehicleInfo" as varchar) as vehicle_info,
        cast("carrier" as varchar) as carrier,
        cast("consignee" as varchar) as consignee,
        cast("beginRoute" as varchar) as begin_route,
        cast("endRoute" as varchar) as end_route,

        ---------- timestamps
        cast("expectedBeginTime" as timestamptz) as expected_begin_at,
        cast("expectedEndTime" as timestamptz) as expected_end_at,
        cast("actualBeginTime" as timestamptz) as actual_begin_at,
        cast("actualEndTime" as timestamptz) as actual_end_at,
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by trip_id, snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
