with

source as (

    select * from {{ source('freshliance', 'device_groups') }}

),

renamed as (

    select

        ---------- ids
        cast("userGroupId" as bigint) as group_id,
        cast("parentId" as bigint) as parent_group_id,

        ---------- text
        cast("groupName" as varchar) as group_name,

        ---------- timestamps
        cast("_fetched_at" as timestamptz) as fetched_at,
        cast("snapshot_date" as date) as snapshot_date

    from source

),

deduplicated as (

    select * from renamed

    qualify row_number() over (
        partition by group_id, snapshot_date
        order by fetched_at desc
    ) = 1

)

select * from deduplicated
