package test

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/leadbridge/leadbridge/config"
	"github.com/leadbridge/leadbridge/internal/cdktest"
	"github.com/leadbridge/leadbridge/internal/docgen"
	"github.com/leadbridge/leadbridge/stacks"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocs_PicturesMatchTheApp draws the pictures again from the app as it is
// now, synthesized here as `cdk synth` does (cdk.json's context, construct
// paths in the metadata), so that a change to a state machine or a resource
// fails this test until `make docs` draws it, even before `make synth` ran.
func TestDocs_PicturesMatchTheApp(t *testing.T) {
	t.Parallel() // beside TestApp_SynthesizesWhenStartedFromAnotherDirectory
	// GIVEN the example app synthesized into a fresh assembly
	d, err := config.Load("")
	require.NoError(t, err)
	context := cdkContext(t, "../cdk.json")
	context["aws:cdk:enable-path-metadata"] = true
	assembly := t.TempDir()
	require.NoError(t, cdktest.Recover(func() {
		app := awscdk.NewApp(&awscdk.AppProps{Context: &context, Outdir: jsii.String(assembly)})
		stacks.NewApp(app, d)
		app.Synth(nil)
	}))

	// WHEN the pictures are drawn from it
	a, err := docgen.LoadAssembly(assembly)
	require.NoError(t, err)
	pictures, err := docgen.Pictures(a)
	require.NoError(t, err)
	got := t.TempDir()
	require.NoError(t, docgen.WritePictures("..", got, pictures))

	// THEN docs/ holds exactly these pictures, byte for byte
	wantFiles, gotFiles := svgFiles(t, "../docs"), svgFiles(t, got)
	require.Equal(t, wantFiles, gotFiles, "the pictures in docs/ are not the ones the app draws: run make docs")
	for _, f := range gotFiles {
		want, err := os.ReadFile(filepath.Join("../docs", f))
		require.NoError(t, err)
		have, err := os.ReadFile(filepath.Join(got, f))
		require.NoError(t, err)
		assert.True(t, bytes.Equal(want, have), "docs/%s is not what the app draws now: run make docs", f)
	}
}

// svgFiles lists the generated pictures below dir, relative to it.
func svgFiles(t *testing.T, dir string) []string {
	t.Helper()
	files := []string{docgen.ArchitectureFile}
	machines, err := filepath.Glob(filepath.Join(dir, docgen.MachinesDir, "*.svg"))
	require.NoError(t, err)
	for _, m := range machines {
		files = append(files, filepath.Join(docgen.MachinesDir, filepath.Base(m)))
	}
	slices.Sort(files)
	return files
}
