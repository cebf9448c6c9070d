using GppfActors.Model.Backbone;
using GppfActors.Model.Checkpoints;
using GppfActors.Model.Network;
using GppfActors.Testing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Model.Tests.Checkpoints;

/// <summary>The whole GPPF model through the checkpoint format: PyTorch-style keys, exact values.</summary>
public class ModelCheckpointSpecs
{
    [Fact]
    public void Should_restore_every_key_exactly_when_a_resnet50_gppf_model_round_trips()
    {
        using var scope = NewDisposeScope();
        using var dir = new TempDirectory();
        TaskHeadSpec[] tasks = [Nets.Classifier("in21k", 21), Nets.Classifier("voc", 5)];
        var saved = new GppfNetwork(BackboneConfig.ResNet50(2), tasks, seed: 1);
        Nets.RandomiseNorms(saved, 3);
        using (no_grad())
        {
            saved.Controller("voc").Logits.copy_(randn(17, 2));
        }
        string path = dir.File("model.safetensors");
        StateDicts.Save(saved, path, new Dictionary<string, string> { ["format"] = "gppf-model" });

        var header = SafeTensorsFile.ReadHeader(path);
        var expectedKeys = saved.state_dict().Keys.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expectedKeys, header.Names.ToList());
        Assert.Equal(318 * 2 + 2 + 4, expectedKeys.Count); // 2 units x torchvision's 318, 2 controllers, 2 heads x (weight, bias)
        Assert.Equal("gppf-model", header.Metadata["format"]);

        var restored = new GppfNetwork(BackboneConfig.ResNet50(2), tasks, seed: 2);
        StateDicts.LoadExact(restored, path);
        var after = restored.state_dict();
        foreach (var (key, value) in saved.state_dict())
        {
            TensorAssert.Equal(after[key], value, key);
        }
    }
}
