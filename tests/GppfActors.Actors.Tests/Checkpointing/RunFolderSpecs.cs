using GppfActors.Actors.Checkpointing;
using Xunit;

namespace GppfActors.Actors.Tests.Checkpointing;

public sealed class RunFolderSpecs : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static RunIdentity Identity(string job, int classes = 5) =>
        new(job, new Dictionary<string, string> { ["backbone.preset"] = "small", ["tasks.cls.num_classes"] = classes.ToString(System.Globalization.CultureInfo.InvariantCulture) });

    [Fact]
    public void Should_write_the_identity_on_first_use_and_accept_the_same_job_again()
    {
        var path = _temp.Combine("run");
        using (var folder = RunFolder.Open(path, Identity("exp1")))
        {
            Assert.True(folder.Created);
        }
        using var again = RunFolder.Open(path, Identity("exp1"));
        Assert.False(again.Created);
        Assert.Equal("exp1", RunIdentity.Read(Path.Combine(path, RunFolder.IdentityFile)).Job);
    }

    [Fact]
    public void Should_give_a_folder_its_own_run_id_once_and_keep_it()
    {
        var path = _temp.Combine("run");
        string id;
        using (var folder = RunFolder.Open(path, Identity("exp1")))
        {
            id = folder.Identity.RunId!;
        }
        using (var other = RunFolder.Open(_temp.Combine("other"), Identity("exp1")))
        {
            Assert.NotEqual(id, other.Identity.RunId);
        }
        using var again = RunFolder.Open(path, Identity("exp1"));

        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, again.Identity.RunId);
        Assert.Equal(id, RunIdentity.Read(Path.Combine(path, RunFolder.IdentityFile)).RunId);
    }

    [Fact]
    public void Should_add_a_run_id_to_an_identity_file_written_before_run_ids()
    {
        var path = _temp.Combine("run");
        Directory.CreateDirectory(path);
        var identityFile = Path.Combine(path, RunFolder.IdentityFile);
        File.WriteAllBytes(identityFile, Identity("exp1").ToJsonBytes());
        Assert.Null(RunIdentity.Read(identityFile).RunId);

        using var folder = RunFolder.Open(path, Identity("exp1"));

        Assert.NotNull(folder.Identity.RunId);
        Assert.Equal(folder.Identity.RunId, RunIdentity.Read(identityFile).RunId);
        Assert.Equal("exp1", RunIdentity.Read(identityFile).Job);
    }

    [Fact]
    public void Should_refuse_another_job_naming_both()
    {
        var path = _temp.Combine("run");
        RunFolder.Open(path, Identity("cpu-small")).Dispose();

        var refused = Assert.Throws<RunFolderException>(() => RunFolder.Open(path, Identity("exp2")));

        Assert.Contains("belongs to job 'cpu-small'", refused.Message);
        Assert.Contains("this job is 'exp2'", refused.Message);
    }

    [Fact]
    public void Should_refuse_a_different_model_layout_naming_the_key_and_both_values()
    {
        var path = _temp.Combine("run");
        RunFolder.Open(path, Identity("exp1", classes: 5)).Dispose();

        var refused = Assert.Throws<RunFolderException>(() => RunFolder.Open(path, Identity("exp1", classes: 7)));

        Assert.Contains("tasks.cls.num_classes: 5 in the run folder, 7 now", refused.Message);
    }

    [Fact]
    public void Should_refuse_a_folder_with_checkpoints_but_no_identity()
    {
        var path = _temp.Combine("old");
        Directory.CreateDirectory(Path.Combine(path, "step-00000100"));

        var refused = Assert.Throws<RunFolderException>(() => RunFolder.Open(path, Identity("exp1")));

        Assert.Contains("no run.json", refused.Message);
        Assert.False(File.Exists(Path.Combine(path, RunFolder.IdentityFile)));
    }

    [Fact]
    public void Should_refuse_a_second_holder_naming_the_first_ones_pid_until_it_lets_go()
    {
        var path = _temp.Combine("run");
        var first = RunFolder.Open(path, Identity("exp1"));

        var refused = Assert.Throws<RunFolderInUseException>(() => RunFolder.Open(path, Identity("exp1")));
        Assert.Contains($"pid {Environment.ProcessId}", refused.Message);

        first.Dispose();
        RunFolder.Open(path, Identity("exp1")).Dispose();
    }

    [Fact]
    public async Task Should_take_the_folder_as_soon_as_the_holder_lets_go_while_waiting()
    {
        var path = _temp.Combine("run");
        var first = RunFolder.Open(path, Identity("exp1"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var release = Task.Run(async () =>
        {
            await Task.Delay(700);
            first.Dispose();
        });

        using var second = RunFolder.Open(path, Identity("exp1"), TimeSpan.FromSeconds(20));

        Assert.True(second.HoldsLock);
        Assert.InRange(clock.Elapsed.TotalSeconds, 0.6, 10);
        await release;
    }

    [Fact]
    public void Should_go_on_without_the_lock_after_the_wait_only_when_asked()
    {
        // A coordinator taking over from a frozen one: the lock is never released.
        var path = _temp.Combine("run");
        using var frozen = RunFolder.Open(path, Identity("exp1"));

        var refused = Assert.Throws<RunFolderInUseException>(() => RunFolder.Open(path, Identity("exp1"), TimeSpan.FromMilliseconds(600)));
        Assert.Contains("waited", refused.Message, StringComparison.Ordinal);
        using var unlocked = RunFolder.Open(path, Identity("exp1"), TimeSpan.FromMilliseconds(600), withoutLockAfterWait: true);
        Assert.False(unlocked.HoldsLock);
        Assert.Equal(frozen.Identity.RunId, unlocked.Identity.RunId);
        // Another job is still refused: the folder is this job's only.
        Assert.Throws<RunFolderException>(() => RunFolder.Open(path, Identity("exp2"), TimeSpan.Zero, withoutLockAfterWait: true));
    }

    [Fact]
    public void Should_refuse_a_checkpoint_folder_that_cannot_be_written_naming_it()
    {
        // sysfs refuses new files even to root, unlike a chmod-ed folder.
        var refused = Assert.Throws<RunFolderException>(() => RunFolder.CheckWritable("/sys/kernel"));
        Assert.Contains("checkpoint.dir '/sys/kernel' is not writable from this node", refused.Message);
        var writable = _temp.Combine("shared", "run");
        RunFolder.CheckWritable(writable);
        Assert.Empty(Directory.EnumerateFileSystemEntries(writable));
    }
}
