// Package consumer holds the constructs of a consumer (sales) account: the
// inbox bucket and hand-off bus the producer writes to, the catalog and the
// Glue job that curate the leads, the Salesforce flow, and the
// orchestration that runs them for each hand-off.
//
// Most apps want the whole side in one call, pipeline.NewConsumer, which
// composes these constructs with safe defaults; use them on their own to
// build a variant. The Glue job's PySpark script is embedded in this module
// (FilterJob writes it into the cloud assembly at synth), so an importing
// app needs no file of this repository, and FilterJob creates its own
// security configuration and KMS key when given none:
//
//	job := consumer.NewFilterJob(stack, jsii.String("FilterJob"), &consumer.FilterJobProps{
//		JobName: jsii.String("acme-sales-filter-leads"),
//		Bucket:  inbox,
//	})
//
// Every construct checks its props before it creates anything and panics
// (as CDK constructs throw) with one error naming every bad prop and its
// value; optional props document their default on a line "Default:".
package consumer
