{#
    Fails for every row where the boolean expression is false, for invariants that span columns
    (ordering of timestamps, min <= mean <= max). Rows where it is null pass: nulls are the job
    of not_null tests. column_name is accepted so the test can sit under the column it is about;
    the expression names its columns itself.
#}
{% test expression_is_true(model, expression, column_name=none) %}

select * from {{ model }}

where not ({{ expression }})

{% endtest %}
