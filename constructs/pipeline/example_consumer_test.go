package pipeline_test

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
)

// A consumer account's whole side from three props: the inbox bucket and
// bus the producer writes to, the Glue job (its script ships with the
// module), the Salesforce flow and the orchestration, with every default.
func ExampleNewConsumer() {
	app := awscdk.NewApp(nil)
	stack := awscdk.NewStack(app, jsii.String("leadbridge-consumer-sales"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String("222222222222"), Region: jsii.String("eu-west-1")},
	})
	sales := pipeline.NewConsumer(stack, jsii.String("Sales"), &pipeline.ConsumerProps{
		Name:                       jsii.String("sales"),
		ProducerAccount:            jsii.String("111111111111"),
		SalesforceConnectorProfile: jsii.String("salesforce-sales"),
	})
	// Every part is a field: grant, alarm or extend it.
	fmt.Println(*sales.SalesforceFlow.FlowName)
	fmt.Println(*sales.FilterJob.JobName)
	fmt.Println(*sales.FilterJob.SecurityConfiguration.Name())
	// Output:
	// leadbridge-sales-salesforce-leads
	// leadbridge-sales-filter-leads
	// leadbridge-sales-glue-kms
}
