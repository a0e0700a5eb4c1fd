module github.com/leadbridge/leadbridge

go 1.26.0

require (
	github.com/aws/aws-cdk-go/awscdk/v2 v2.275.0
	github.com/aws/constructs-go/constructs/v10 v10.8.1
	github.com/aws/jsii-runtime-go v1.142.0
	github.com/cdklabs/cdk-nag-go/cdknag/v2 v2.38.2
	github.com/stretchr/testify v1.12.1
)
