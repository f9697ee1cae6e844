"""The fault suite: sync scenarios against the sandbox with faults switched on, each ending in
an exact comparison of the lake and of ``fct_readings`` with the sandbox's ground truth.

``cases`` holds the scenarios and the runner; ``test_faults`` runs them small inside
``make test``; ``python -m freshliance_pipeline_tests.faults`` (``make faults``) runs them on a
larger fleet and prints a table of outcomes.
"""
