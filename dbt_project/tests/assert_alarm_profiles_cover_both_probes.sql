-- Every profile needs limits for the built-in sensor and the external probe, and the default
-- profile must exist: otherwise some readings would have no limits at all.

with

alarm_profiles as (

    select * from {{ ref('alarm_profiles') }}

),

required as (

    select distinct
        alarm_profiles.profile,
        probes.probe_type

    from alarm_profiles

    cross join (values (0), (1)) as probes (probe_type)

    union

    select
        '{{ var("default_alarm_profile") }}' as profile,
        probes.probe_type

    from (values (0), (1)) as probes (probe_type)

),

missing as (

    select required.*

    from required

    left join alarm_profiles
        on
            required.profile = alarm_profiles.profile
            and required.probe_type = alarm_profiles.probe_type

    where alarm_profiles.profile is null

)

select * from missing
