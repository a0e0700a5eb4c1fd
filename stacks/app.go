package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/leadbridge/leadbridge/config"
)

// App holds every stack of a deployment.
type App struct {
	Producer  *ProducerStack
	Consumers []*ConsumerStack
}

// NewApp adds the producer stack and one consumer stack per consumer to app.
func NewApp(app awscdk.App, d *config.Deployment) *App {
	out := &App{Producer: NewProducerStack(app, &ProducerStackProps{Deployment: d})}
	for i := range d.Consumers {
		out.Consumers = append(out.Consumers, NewConsumerStack(app, &ConsumerStackProps{Deployment: d, Consumer: &d.Consumers[i]}))
	}
	return out
}
