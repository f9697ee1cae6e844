{#
    The days an incremental fct_readings run rebuilds, as a predicate on a date column.

    var('reading_dates') is a list of 'YYYY-MM-DD' strings set by the Dagster asset (the days
    whose lake partitions changed, plus the run's partitions). Unset means every day; an empty
    list means none. Values are checked, since they are pasted into SQL.
#}
{% macro reading_dates_predicate(column) %}

    {%- set days = var('reading_dates', none) -%}

    {%- if days is none -%}
        true
    {%- elif days | length == 0 -%}
        false
    {%- else -%}
        {%- for day in days -%}
            {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', day | string) -%}
                {{ exceptions.raise_compiler_error(
                    "reading_dates holds " ~ day ~ ", not a YYYY-MM-DD date"
                ) }}
            {%- endif -%}
        {%- endfor -%}
        {{ column }} in (
            {%- for day in days -%}
                date '{{ day }}'{{ ', ' if not loop.last }}
            {%- endfor -%}
        )
    {%- endif -%}

{% endmacro %}


{#
    Incremental strategy 'replace_reading_dates': delete the target's rows of the rebuilt days,
    then insert the model's rows for them, in the materialization's one transaction. Unlike
    delete+insert on a key, a day whose partition lost rows (or all of them) loses them here too,
    so the table always equals the lake.
#}
{% macro get_incremental_replace_reading_dates_sql(arg_dict) %}

    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}

    delete from {{ target }}
    where {{ reading_dates_predicate('reading_date') }};

    insert into {{ target }} ({{ columns }})
    select {{ columns }}
    from {{ source }}

{% endmacro %}
