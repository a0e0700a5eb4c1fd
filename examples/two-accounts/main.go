// Command two-accounts is a CDK app of its own that imports leadbridge's
// pattern constructs, as a project would after
//
//	go get github.com/leadbridge/leadbridge
//
// A producer lands Marketo runs in a data lake bucket the app already has,
// and one consumer loads them into Salesforce; the app then extends the
// consumer through the pattern's exported fields and routes an alarm of its
// own where the pattern's alarms go. Each pattern declares the stack outputs
// an operator reads (AlarmTopicArn, DashboardName, ...). It needs no file of the
// leadbridge repository: the Glue script ships inside the Go module.
//
// Synthesize with `cdk synth` here, or from the repository root with
// `make example` (which also runs cfn-lint on the templates).
package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/constructs/consumer"
	"github.com/leadbridge/leadbridge/constructs/pipeline"
	"github.com/leadbridge/leadbridge/constructs/producer"
)

const (
	project          = "acme-leads"
	region           = "eu-west-1"
	marketingAccount = "111111111111"
	salesAccount     = "222222222222"
)

func main() {
	defer jsii.Close()
	app := awscdk.NewApp(nil)

	marketing := awscdk.NewStack(app, jsii.String("acme-marketing"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String(marketingAccount), Region: jsii.String(region)},
	})
	// The bucket the marketing team already keeps its data in.
	lake := awss3.NewBucket(marketing, jsii.String("DataLake"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	pipeline.NewProducer(marketing, jsii.String("Leads"), &pipeline.ProducerProps{
		Project:                 jsii.String(project),
		MarketoConnectorProfile: jsii.String("marketo"),
		Consumers: &[]*producer.ConsumerTarget{
			producer.NewConsumerTarget(project, "sales", salesAccount, region),
		},
		ExistingLandingBucket: lake,
		AlarmEmail:            jsii.String("data-platform@example.com"),
	})

	sales := awscdk.NewStack(app, jsii.String("acme-sales"), &awscdk.StackProps{
		Env: &awscdk.Environment{Account: jsii.String(salesAccount), Region: jsii.String(region)},
	})
	leads := pipeline.NewConsumer(sales, jsii.String("Leads"), &pipeline.ConsumerProps{
		Project:                    jsii.String(project),
		Name:                       jsii.String("sales"),
		ProducerAccount:            jsii.String(marketingAccount),
		SalesforceConnectorProfile: jsii.String("salesforce"),
		NumberOfWorkers:            jsii.Number(4),
	})
	// Analysts may read the curated Parquet the filter job writes beside the
	// CSV it sends to Salesforce: GrantRead admits them to S3 and to the
	// inbox key, whose policy honours no IAM grant alone.
	analysts := awsiam.NewRole(sales, jsii.String("Analysts"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewAccountRootPrincipal(),
	})
	leads.GrantRead(analysts, consumer.CuratedParquetPrefix+"*")
	// An alarm of the app's own goes wherever the pattern's alarms go.
	leads.Notify(awscloudwatch.NewAlarm(sales, jsii.String("SlowFilterJob"), &awscloudwatch.AlarmProps{
		AlarmDescription:  jsii.String("A filter job run took more than 30 minutes."),
		Metric:            leads.FilterJob.MetricElapsedTime(nil),
		Threshold:         jsii.Number(30 * 60 * 1000),
		EvaluationPeriods: jsii.Number(1),
	}))

	app.Synth(nil)
}
