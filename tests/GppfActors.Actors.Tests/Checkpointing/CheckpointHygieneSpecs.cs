using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointHygieneSpecs : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void Should_list_exactly_the_crash_leftovers_when_a_root_holds_committed_and_stale_directories()
    {
        string[] directories =
        [
            "step-00000010", "step-00000020", // committed
            "step-00000020.tmp",              // a retried write of a committed step crashed
            "step-00000030.tmp",              // a write crashed before its rename
            "step-00000040",                  // renamed, but the journal never heard of it
            "step-00000005.deleting",         // retention crashed part way
            "notes", "step-latest",           // not ours
        ];
        foreach (var name in directories)
        {
            Directory.CreateDirectory(_root.Combine(name));
        }
        File.WriteAllText(_root.Combine("journal.db"), "");
        CheckpointRecord[] committed = [Records.At(10, root: _root.Path), Records.At(20, root: _root.Path)];

        var stale = CheckpointHygiene.ListStale(_root.Path, committed);

        string[] expected = ["step-00000005.deleting", "step-00000020.tmp", "step-00000030.tmp", "step-00000040"];
        Assert.Equal(expected.Select(name => _root.Combine(name)), stale);
    }

    [Fact]
    public void Should_never_list_a_committed_step_when_the_journal_knows_it_under_another_root()
    {
        CheckpointRecord[] committed = [Records.At(10, root: "/mnt/old-root")];

        var stale = CheckpointHygiene.SelectStale("/mnt/new-root", ["step-00000010", "step-00000011"], committed);

        Assert.Equal(["/mnt/new-root/step-00000011"], stale);
    }

    [Fact]
    public void Should_list_nothing_when_the_root_does_not_exist()
    {
        Assert.Empty(CheckpointHygiene.ListStale(_root.Combine("absent"), []));
    }
}
