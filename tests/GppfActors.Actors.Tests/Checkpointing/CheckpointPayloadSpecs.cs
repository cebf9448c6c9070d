using GppfActors.Actors.Checkpointing;
using Xunit;
using static TorchSharp.torch;

namespace GppfActors.Actors.Tests.Checkpointing;

public class CheckpointPayloadSpecs
{
    [Fact]
    public void Should_keep_its_tensors_alive_when_the_scope_that_made_them_is_disposed()
    {
        CheckpointPayload payload;
        using (var scope = NewDisposeScope())
        {
            payload = new CheckpointPayload(3, 1, new Dictionary<string, Tensor> { ["w"] = ones(2, 2) }, new Dictionary<string, Tensor>(), "{}", "{}", "{}");
        }
        Assert.Equal(4.0f, payload.ModelState["w"].sum().item<float>());
        payload.Dispose();
        Assert.Throws<ObjectDisposedException>(() => payload.ModelState);
    }

    [Fact]
    public void Should_hold_its_own_copy_when_the_source_tensors_change_after_CopyToHost()
    {
        using var weight = ones(3);
        using var payload = CheckpointPayload.CopyToHost(1, 1, new Dictionary<string, Tensor> { ["w"] = weight }, new Dictionary<string, Tensor>(), "{}", "{}", "{}");
        weight.add_(5);
        Assert.Equal(3.0f, payload.ModelState["w"].sum().item<float>());
        Assert.Equal(18.0f, weight.sum().item<float>());
    }

    [Fact]
    public void Should_refuse_invalid_json_when_constructed()
    {
        using var weight = ones(1);
        var exception = Assert.Throws<ArgumentException>(() =>
            new CheckpointPayload(1, 1, new Dictionary<string, Tensor> { ["w"] = weight }, new Dictionary<string, Tensor>(), "{}", "{\"cursor\":", "{}"));
        Assert.Equal("samplerStateJson", exception.ParamName);
        // Refused before taking ownership: the caller's tensor is untouched and still usable.
        Assert.Equal(1.0f, weight.item<float>());
    }

    [Fact]
    public void Should_refuse_to_capture_a_replica_whose_state_holds_non_finite_values_naming_the_key()
    {
        using var replica = new GppfActors.Model.Training.Replica(
            GppfActors.Testing.Nets.Tiny(2, 1, ("cls", 3)), new GppfActors.Model.Optim.OptimizerConfig(GppfActors.Model.Optim.OptimizerKind.Sgd));
        using (var clean = CheckpointPayload.FromReplica(replica, 1, 1, "[]", "{}", "{}"))
        {
            Assert.Equal(1, clean.Step);
        }
        using (no_grad())
        {
            replica.Network.state_dict()["heads.cls.fc.weight"][0, 0] = float.PositiveInfinity;
        }

        var refused = Assert.Throws<NonFiniteStateException>(() => CheckpointPayload.FromReplica(replica, 2, 1, "[]", "{}", "{}"));

        Assert.Equal(["heads.cls.fc.weight"], refused.Keys);
        Assert.Contains("not checkpointed", refused.Message);
    }
}
