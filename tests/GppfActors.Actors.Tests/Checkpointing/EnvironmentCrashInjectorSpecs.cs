using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public class EnvironmentCrashInjectorSpecs
{
    [Fact]
    public void Should_match_only_the_named_point_and_step_when_both_are_given()
    {
        var injector = Assert.IsType<EnvironmentCrashInjector>(EnvironmentCrashInjector.Parse("after-manifest@3"));

        Assert.True(injector.Matches(CrashPoints.AfterManifest, 3));
        Assert.False(injector.Matches(CrashPoints.AfterManifest, 2));
        Assert.False(injector.Matches(CrashPoints.AfterRename, 3));
    }

    [Fact]
    public void Should_match_every_step_when_no_step_is_given()
    {
        var injector = Assert.IsType<EnvironmentCrashInjector>(EnvironmentCrashInjector.Parse("during-cleanup"));

        Assert.True(injector.Matches(CrashPoints.DuringCleanup, 0));
        Assert.True(injector.Matches(CrashPoints.DuringCleanup, 12345));
    }

    [Theory]
    [InlineData("after-manifst@3")]
    [InlineData("after-manifest@x")]
    [InlineData("after-manifest@-1")]
    [InlineData("after-manifest@1@2")]
    public void Should_refuse_a_malformed_value_when_parsing(string value)
    {
        Assert.Throws<ArgumentException>(() => EnvironmentCrashInjector.Parse(value));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("  ")]
    public void Should_never_crash_when_the_variable_is_unset_or_empty(string? value)
    {
        Assert.Same(NoCrashInjector.Instance, EnvironmentCrashInjector.Parse(value));
    }
}
