using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class CheckpointHygieneSpecs : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private CheckpointRecord Write(long step, string job)
    {
        using var payload = Payloads.Sample(step, job: job);
        return new CheckpointWriter().Write(_root.Path, payload);
    }

    [Fact]
    public void Should_list_only_this_jobs_uncommitted_checkpoints_and_crash_leftovers_when_a_root_holds_several_jobs()
    {
        var committed = new[] { Write(10, "mine"), Write(20, "mine") };
        Write(40, "mine");                                   // renamed, but the journal never heard of it
        Write(50, "other");                                  // another job's checkpoint: never ours to delete
        Directory.CreateDirectory(_root.Combine("step-00000060"));   // no state.json: cannot prove it is ours
        foreach (var name in new[] { "step-00000020.tmp", "step-00000030.tmp", "step-00000005.deleting", "notes", "step-latest" })
        {
            Directory.CreateDirectory(_root.Combine(name));
        }
        File.WriteAllText(_root.Combine("journal.db"), "");

        var stale = CheckpointHygiene.ListStale(_root.Path, committed, "mine");

        string[] expected = ["step-00000005.deleting", "step-00000020.tmp", "step-00000030.tmp", "step-00000040"];
        Assert.Equal(expected.Select(name => _root.Combine(name)), stale);
    }

    [Fact]
    public void Should_name_the_job_of_a_checkpoint_from_its_own_state()
    {
        var record = Write(7, "exp2");

        Assert.Equal("exp2", CheckpointHygiene.JobOf(record.Directory));
        Assert.Null(CheckpointHygiene.JobOf(_root.Combine("absent")));
    }

    [Fact]
    public void Should_never_list_a_committed_step_when_the_journal_knows_it_under_another_root()
    {
        CheckpointRecord[] committed = [Records.At(10, root: "/mnt/old-root")];

        var stale = CheckpointHygiene.SelectStale("/mnt/new-root", ["step-00000010", "step-00000011"], committed, _ => true);

        Assert.Equal(["/mnt/new-root/step-00000011"], stale);
    }

    [Fact]
    public void Should_list_nothing_when_the_root_does_not_exist()
    {
        Assert.Empty(CheckpointHygiene.ListStale(_root.Combine("absent"), [], "mine"));
    }
}
