"""Producer and consumers together, wired by their own EventBridge rules (template patterns).

The producer's hand-off event is matched by each consumer's HandoffBusRule (moto cannot target a state
machine, so the rule's target is an SQS stand-in and the test starts the consumer execution with exactly
the event the rule delivered), proving that what the producer puts and what the consumer expects agree.
"""
from __future__ import annotations

from fakes import filter_job
from leadbridge import CONSUMER_STACKS, MARKETO_FLOW, Consumer, Producer


def test_producer_handoff_starts_each_consumer_run_on_the_files_it_copied(aws):
    producer = Producer.deploy(aws)
    consumers = [Consumer.deploy(aws, name) for name in sorted(CONSUMER_STACKS)]
    aws.glue_jobs.on_run = filter_job()
    names = ["part-00000.parquet", "part-00001.parquet"]
    producer.land("run-e2e", names)
    [appflow_event] = producer.appflow_reports("run-e2e")

    handoff = producer.run(appflow_event)

    assert handoff.status == "SUCCEEDED", handoff
    assert producer.archived("run-e2e") == [f"archive/{MARKETO_FLOW}/run-e2e/{n}" for n in names]
    for c in consumers:
        [event] = aws.delivered(c.machine.arn)          # matched by the consumer's own rule
        assert event["detail"]["bucket"] == c.inbox

        run = c.run(event)

        assert run.status == "SUCCEEDED", (c.name, run)
        job_args = [args for job, args in aws.glue_jobs.runs if job == c.job]
        assert [a["--input_path"] for a in job_args] == [f"s3://{c.inbox}/inbox/run-e2e/"]
        assert c.keys("archive/run-e2e/") == [f"archive/run-e2e/{n}" for n in names]
        assert c.keys("inbox/") == [] and c.lock() is None
    assert len(aws.appflow.started()) == len(consumers)
