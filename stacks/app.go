package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/leadbridge/leadbridge/config"
)

// App holds every stack of a deployment.
type App struct {
	Producer *ProducerStack
}

// NewApp adds the producer stack and one consumer stack per consumer to app.
// filterScriptPath is the Glue job script, relative to where `cdk` runs.
func NewApp(app awscdk.App, d *config.Deployment, filterScriptPath string) *App {
	return &App{Producer: NewProducerStack(app, &ProducerStackProps{Deployment: d})}
}
