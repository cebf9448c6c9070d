using GppfActors.Actors.Checkpointing;
using GppfActors.Model.Checkpoints;
using GppfActors.Testing;
using Xunit;

namespace GppfActors.Host.Tests;

/// <summary>`gppf inspect` and `gppf export` on a real run's checkpoint.</summary>
public sealed class InspectExportSpecs(SyntheticDataFixture fixture) : IClassFixture<SyntheticDataFixture>
{
    [Fact]
    public void Should_show_each_task_path_and_export_it_as_a_static_backbone_with_torchvision_keys()
    {
        string run = Path.Combine(fixture.Root, "export");
        var train = GppfProcess.Run(fixture.Root, fixture.Job(run, 6, 6));
        Assert.True(train.ExitCode == 0, train.Output);

        var inspect = GppfProcess.Run(fixture.Root, ["inspect", run]);
        Assert.True(inspect.ExitCode == 0, inspect.Output);
        Assert.Contains("step 6", inspect.Output);
        Assert.Contains("shapes_det", inspect.Output);

        string file = Path.Combine(fixture.Root, "cls.safetensors");
        var export = GppfProcess.Run(fixture.Root, ["export", run, "--task", "shapes_cls", "--out", file]);
        Assert.True(export.ExitCode == 0, export.Output);

        var header = SafeTensorsFile.ReadHeader(file);
        Assert.Equal("shapes_cls", header.Metadata["task"]);
        var path = header.Metadata["path"].Split(',').Select(int.Parse).ToArray();
        Assert.Equal(5, path.Length);                       // the small backbone: stem + 4 blocks
        Assert.Contains("conv1.weight", header.Names);
        Assert.Contains("layer4.0.bn2.running_var", header.Names);
        Assert.DoesNotContain(header.Names, n => n.Contains("units", StringComparison.Ordinal));

        // The exported stem is the chosen stem unit of the checkpoint.
        var exported = SafeTensorsFile.Load(file);
        var model = SafeTensorsFile.Load(Path.Combine(run, CheckpointLayout.DirectoryName(6), CheckpointLayout.ModelFile));
        TensorAssert.Equal(exported["conv1.weight"], model[$"backbone.stem.units.{path[0]}.conv1.weight"], "conv1.weight");
        TensorAssert.Equal(exported["layer2.0.conv2.weight"], model[$"backbone.layer2.0.units.{path[2]}.conv2.weight"], "layer2.0.conv2.weight");

        var missing = GppfProcess.Run(fixture.Root, ["inspect", Path.Combine(fixture.Root, "nowhere")]);
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nowhere", missing.Output);
    }
}
