with

source as (

    select * from {{ source('freshliance', 'readings') }}

),

rejects_source as (

    select * from {{ source('freshliance', 'rejected_readings') }}

),

kept_rejects as (

    -- Readings the sync kept with untrusted values nulled (freshliance_pipeline/normalize.py):
    -- the values as the device sent them, so raw_* still shows what came in.
    select
        cast("userDeviceTripId" as bigint) as trip_id,
        cast("probeType" as integer) as probe_type,
        cast("ts" as timestamptz) as reading_at,
        try_cast(json_extract_string("rawRow", '$.temperature') as double) as sent_temperature_c,
        try_cast(json_extract_string("rawRow", '$.humidity') as double) as sent_humidity_pct

    from rejects_source

    where "inReadings"

    qualify row_number() over (
        partition by "userDeviceTripId", "probeType", "ts"
        order by "_fetched_at" desc
    ) = 1

),

renamed as (

    select

        ---------- ids
        cast(source."userDeviceTripId" as bigint) as trip_id,
        cast(source."deviceCode" as varchar) as device_code,

        ---------- codes
        -- 0 = built-in sensor, 1 = external probe.
        cast(source."probeType" as integer) as probe_type,

        ---------- numerics
        cast(coalesce(kept_rejects.sent_temperature_c, source."temperature") as double)
            as raw_temperature_c,
        cast(coalesce(kept_rejects.sent_humidity_pct, source."humidity") as double)
            as raw_humidity_pct,
        cast(source."light" as double) as light_lux,
        cast(source."shock" as integer) as shock_level,
        cast(source."latitude" as double) as latitude,
        cast(source."longitude" as double) as longitude,

        ---------- timestamps
        cast(source."ts" as timestamptz) as reading_at,
        cast(source."_fetched_at" as timestamptz) as fetched_at,
        cast(source."reading_date" as date) as reading_date

    from source

    left join kept_rejects
        on
            source."userDeviceTripId" = kept_rejects.trip_id
            and source."probeType" = kept_rejects.probe_type
            and source."ts" = kept_rejects.reading_at

),

fetch_stats as (

    -- Overlapping windows and late re-fetches bring the same reading more than once. Copies
    -- that disagree on any value are a conflict, counted so it can be looked into.
    select
        trip_id,
        probe_type,
        reading_at,
        count(*) as fetch_count,
        count(distinct row(
            raw_temperature_c, raw_humidity_pct, light_lux, shock_level, latitude, longitude
        )) as version_count,
        min(fetched_at) as first_fetched_at

    from renamed

    group by trip_id, probe_type, reading_at

),

latest_fetch as (

    -- The latest fetch wins: it is the gateway's most recent answer.
    select * from renamed

    qualify row_number() over (
        partition by trip_id, probe_type, reading_at
        order by fetched_at desc
    ) = 1

),

sentinels_flagged as (

    select
        *,
        coalesce(
            raw_temperature_c not between -200 and 200
            or raw_temperature_c in ({{ var('temperature_sentinels_c') | join(', ') }}),
            false
        ) as is_temperature_sentinel,
        coalesce(raw_humidity_pct not between 0 and 100, false) as is_humidity_sentinel

    from latest_fetch

),

sentinels_nulled as (

    select
        trip_id,
        device_code,
        probe_type,

        case when not is_temperature_sentinel then raw_temperature_c end as temperature_c,
        raw_temperature_c,
        case when not is_humidity_sentinel then raw_humidity_pct end as humidity_pct,
        light_lux,
        shock_level,
        latitude,
        longitude,
        is_temperature_sentinel,
        is_humidity_sentinel,

        reading_at,
        fetched_at,
        reading_date

    from sentinels_flagged

),

joined as (

    select
        sentinels_nulled.*,
        fetch_stats.first_fetched_at,
        fetch_stats.fetch_count,
        fetch_stats.version_count > 1 as has_conflicting_fetches

    from sentinels_nulled

    inner join fetch_stats
        on
            sentinels_nulled.trip_id = fetch_stats.trip_id
            and sentinels_nulled.probe_type = fetch_stats.probe_type
            and sentinels_nulled.reading_at = fetch_stats.reading_at

)

select * from joined
