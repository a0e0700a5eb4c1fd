package consumer

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsglue"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/internal/databucket"
	"github.com/leadbridge/leadbridge/internal/nag"
	"github.com/leadbridge/leadbridge/internal/validate"
)

// LeadsCatalogProps configures a LeadsCatalog.
type LeadsCatalogProps struct {
	// Bucket holds the processed runs under ArchivePrefix.
	Bucket awss3.IBucket
	// Name prefixes the database, crawler and security configuration.
	Name *string
}

// LeadsCatalog catalogs the processed runs: a Glue database, a crawler over
// archive/ (each run becomes a partition of one table), and the security
// configuration that encrypts the crawler's and the job's logs and bookmarks.
// The crawler runs after a run's files reached archive/, so the catalog
// points at data that stays; the Glue job reads S3 directly and never waits for it.
type LeadsCatalog struct {
	constructs.Construct
	Database              awsglue.CfnDatabase
	Crawler               awsglue.CfnCrawler
	CrawlerRole           awsiam.Role
	SecurityConfiguration awsglue.CfnSecurityConfiguration
	// Key encrypts Glue's CloudWatch logs and job bookmarks: the bucket's
	// own key, or a new one for an SSE-S3 bucket.
	Key awskms.Key
}

func (p *LeadsCatalogProps) validate() error {
	return errors.Join(
		validate.NotNil(map[string]any{"Bucket": p.Bucket}),
		validate.RequiredStrings(map[string]*string{"Name": p.Name}))
}

// NewLeadsCatalog creates the catalog.
func NewLeadsCatalog(scope constructs.Construct, id *string, props *LeadsCatalogProps) *LeadsCatalog {
	if props == nil {
		props = &LeadsCatalogProps{}
	}
	validate.Must("LeadsCatalog", props.validate())
	this := constructs.NewConstruct(scope, id)
	stack := awscdk.Stack_Of(this)
	name := *props.Name

	key := glueKey(this, props.Bucket, name)
	security := newSecurityConfiguration(this, securityConfigurationName(name, props.Bucket), key, props.Bucket)

	databaseName := toGlueName(name)
	database := awsglue.NewCfnDatabase(this, jsii.String("Database"), &awsglue.CfnDatabaseProps{
		CatalogId: stack.Account(),
		DatabaseInput: &awsglue.CfnDatabase_DatabaseInputProperty{
			Name:        jsii.String(databaseName),
			Description: jsii.String("Marketo leads handed off by the producer, one partition per run"),
		},
	})

	role := awsiam.NewRole(this, jsii.String("CrawlerRole"), &awsiam.RoleProps{
		AssumedBy: awsiam.NewServicePrincipal(jsii.String("glue.amazonaws.com"), nil),
	})
	GrantGlueLogging(role, "crawlers")
	props.Bucket.GrantRead(role, jsii.String(ArchivePrefix+"*"))
	databucket.GrantKeyUse(props.Bucket, "CrawlerReadsArchive", databucket.RoleOfThisAccount(role), databucket.ReadObjects)
	catalogArn := func(resource string) string {
		return fmt.Sprintf("arn:%s:glue:%s:%s:%s", *stack.Partition(), *stack.Region(), *stack.Account(), resource)
	}
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("glue:GetDatabase", "glue:GetTable", "glue:GetTables", "glue:CreateTable", "glue:UpdateTable",
			"glue:GetPartition", "glue:GetPartitions", "glue:BatchGetPartition", "glue:BatchCreatePartition", "glue:UpdatePartition", "glue:BatchUpdatePartition"),
		Resources: jsii.Strings(catalogArn("catalog"), catalogArn("database/"+databaseName), catalogArn("table/"+databaseName+"/*")),
	}))
	role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("glue:GetSecurityConfiguration"),
		Resources: jsii.Strings("*"),
	}))

	crawler := awsglue.NewCfnCrawler(this, jsii.String("Crawler"), &awsglue.CfnCrawlerProps{
		Name:         jsii.String(name + "-archive"),
		Role:         role.RoleArn(),
		DatabaseName: jsii.String(databaseName),
		Description:  jsii.String("Catalogs each processed run in archive/"),
		Targets: &awsglue.CfnCrawler_TargetsProperty{
			S3Targets: &[]interface{}{&awsglue.CfnCrawler_S3TargetProperty{
				Path: jsii.String(fmt.Sprintf("s3://%s/%s", *props.Bucket.BucketName(), ArchivePrefix)),
			}},
		},
		CrawlerSecurityConfiguration: security.Name(),
		SchemaChangePolicy: &awsglue.CfnCrawler_SchemaChangePolicyProperty{
			UpdateBehavior: jsii.String("UPDATE_IN_DATABASE"),
			DeleteBehavior: jsii.String("LOG"),
		},
		RecrawlPolicy: &awsglue.CfnCrawler_RecrawlPolicyProperty{RecrawlBehavior: jsii.String("CRAWL_EVERYTHING")},
		Configuration: jsii.String(CrawlerConfiguration),
	})
	crawler.Node().AddDependency(database)
	crawler.Node().AddDependency(security)

	nag.Suppress(role, true, nag.Suppression{
		ID:             "AwsSolutions-IAM5",
		Reason:         "The crawler reads every run under archive/*, manages the tables of its own database, writes its own /aws-glue log groups, and reads security configurations (no resource-level permission).",
		AppliesTo:      []string{"Action::s3:GetObject*", "Action::s3:List*", "Action::s3:GetBucket*", "Action::kms:GenerateDataKey*", "Action::kms:ReEncrypt*", "Resource::*"},
		AppliesToRegex: []string{`/^Resource::.*\/archive\/\*$/g`, `/^Resource::arn:.*:(table\/.*\/\*|log-group:\/aws-glue\/.*)$/g`},
	})
	return &LeadsCatalog{Construct: this, Database: database, Crawler: crawler, CrawlerRole: role, SecurityConfiguration: security, Key: key}
}

// CrawlerConfiguration makes one table whose partitions are the runs, even
// when a run adds a column, and no partition index: crawlers create one by
// default (CreatePartitionIndex defaults to true; Glue guide,
// crawler-configure-partition-indexes), which would need
// glue:CreatePartitionIndex, and lookups by run need none.
const CrawlerConfiguration = `{"Version":1.0,"CreatePartitionIndex":false,"Grouping":{"TableGroupingPolicy":"CombineCompatibleSchemas"},"CrawlerOutput":{"Partitions":{"AddOrUpdateBehavior":"InheritFromTable"}}}`

// GrantGlueLogging lets a Glue role write its encrypted logs: continuous
// logging for jobs, or crawler logs (kind is "jobs" or "crawlers"). The key
// is CloudWatch Logs' to use (grantGlueLogsUseKey), not the role's.
func GrantGlueLogging(role awsiam.IRole, kind string) {
	stack := awscdk.Stack_Of(role)
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:AssociateKmsKey"),
		Resources: jsii.Strings(fmt.Sprintf("arn:%s:logs:%s:%s:log-group:/aws-glue/%s*",
			*stack.Partition(), *stack.Region(), *stack.Account(), kind)),
	}))
}

// toGlueName turns a name into a Glue database name: lowercase, underscores.
func toGlueName(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '-' {
			out[i] = '_'
		}
	}
	return string(out)
}
