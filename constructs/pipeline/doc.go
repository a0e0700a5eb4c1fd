// Package pipeline holds the two pattern constructs of leadbridge, one per
// account side: NewProducer builds the whole producer (marketing) side and
// NewConsumer one whole consumer (sales) side, each from a few props with
// documented defaults (every prop's doc ends with "Default:"), and with
// every resource as an exported field, so that an app can grant, alarm or
// extend without reaching into children.
//
//	pipeline.NewProducer(marketing, jsii.String("Leads"), &pipeline.ProducerProps{
//		MarketoConnectorProfile: jsii.String("marketo-marketing"),
//		Consumers: &[]*producer.ConsumerTarget{
//			producer.NewConsumerTarget(naming.DefaultProject, "sales", "222222222222", "eu-west-1"),
//		},
//	})
//	pipeline.NewConsumer(sales, jsii.String("Leads"), &pipeline.ConsumerProps{
//		Name:                       jsii.String("sales"),
//		ProducerAccount:            jsii.String("111111111111"),
//		SalesforceConnectorProfile: jsii.String("salesforce-sales"),
//	})
//
// Both stacks need an explicit env (account and region): the names the two
// sides derive for each other carry them, and the patterns refuse a consumer
// in the producer's account or in another region, and a consumer name used
// twice in one account. The patterns know nothing of a configuration file;
// they compose the constructs of packages producer, consumer and monitoring,
// which an app may also use on their own. Props are checked before anything
// is created, and every problem is reported in one panic (CDK constructs
// throw) of type *PropsError naming the prop and its value.
//
// Each pattern builds its subtree with the feature flags `cdk init` writes
// for the pinned CDK, whatever the app's cdk.json says, declares the stack
// outputs an operator reads (CreateOutputs), and routes an alarm or a rule of
// the app's own wherever its alarms go (Notify, Alert).
package pipeline
