{#
    Fails for every combination of the given columns that occurs more than once: the composite
    key check dbt_utils offers, kept here because the project installs no dbt packages.
#}
{% test unique_combination_of_columns(model, combination_of_columns) %}

{%- set columns_csv = combination_of_columns | join(', ') %}

with

validation as (

    select
        {{ columns_csv }},
        count(*) as row_count

    from {{ model }}

    group by {{ columns_csv }}

    having count(*) > 1

)

select * from validation

{% endtest %}
