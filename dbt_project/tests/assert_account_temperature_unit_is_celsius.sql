{{ config(severity='warn') }}

-- The *_c columns assume the gateway reports readings in degrees Celsius. The API does not
-- say whether readings follow the account's display unit; warn if the account is set to
-- Fahrenheit (temperature_unit_code 2) so the assumption gets checked against live data.

with

account as (

    select * from {{ ref('stg_freshliance__account') }}

),

latest_account as (

    select * from account

    qualify row_number() over (order by snapshot_date desc) = 1

)

select * from latest_account

where temperature_unit_code = 2
