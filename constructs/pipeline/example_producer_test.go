package pipeline_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/constructs/producer"
	"github.com/leadbridge/leadbridge/naming"
)

// The producer account's whole side from two props: the landing bucket,
// the scheduled Marketo flow, the hand-off to each consumer and its alarms.
// producer.NewConsumerTarget derives the names a Consumer of the same
// project gives its inbox bucket and bus.
func ExampleNewProducer() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("leadbridge-producer"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("111111111111"), Region: jsii.String("eu-west-1")},
	})
	sales := producer.NewConsumerTarget(naming.DefaultProject, "sales", "222222222222", "eu-west-1")
	marketing := pipeline.NewProducer(stack, jsii.String("Marketing"), &pipeline.ProducerProps{
		MarketoConnectorProfile: jsii.String("marketo-marketing"),
		Consumers:               &[]*producer.ConsumerTarget{sales},
	})
	// Every part is a field: grant, alarm or extend it.
	fmt.Println(*marketing.MarketoFlow.FlowName)
	fmt.Println(sales.BucketName)
	fmt.Println(sales.EventBusArn)
	// Output:
	// leadbridge-marketo-leads
	// leadbridge-sales-inbox-222222222222-eu-west-1
	// arn:aws:events:eu-west-1:222222222222:event-bus/leadbridge-sales-handoff
}
