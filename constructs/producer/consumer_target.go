package producer

import "github.com/leadbridge/leadbridge/naming"

// NewConsumerTarget derives, with the names a consumer pipeline of the same
// project gives its resources (pipeline.NewConsumer), where the producer
// reaches that consumer.
func NewConsumerTarget(project, name, account, region string) *ConsumerTarget {
	return &ConsumerTarget{
		Name:        name,
		BucketName:  naming.InboxBucketName(project, name, account, region),
		EventBusArn: naming.HandoffBusArn(project, name, account, region),
	}
}
