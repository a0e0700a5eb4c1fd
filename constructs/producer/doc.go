// Package producer holds the constructs of the producer (marketing)
// account: the landing bucket the Marketo flow writes to, the scheduled
// flow, the hand-off state machine that copies each run to every consumer,
// and the rule that starts it when a run succeeds.
//
// Most apps want the whole side in one call, pipeline.NewProducer, which
// composes these constructs with safe defaults; use them on their own to
// build a variant. NewConsumerTarget derives where a consumer built by
// pipeline.NewConsumer of the same project receives its runs:
//
//	sales := producer.NewConsumerTarget(naming.DefaultProject, "sales", "222222222222", "eu-west-1")
//
// The hand-off role has a fixed name (naming.HandoffRoleName) that every
// consumer trusts, so either side can be deployed first. Every construct
// checks its props before it creates anything and panics (as CDK
// constructs throw) with one error naming every bad prop and its value;
// optional props document their default on a line "Default:".
package producer
