namespace GppfActors.Collectives;

/// <summary>Which exception a failure turns into in every member.</summary>
internal enum FailureKind : byte
{
    Aborted = 1,
    TimedOut = 2,
    Mismatch = 3,
}

/// <summary>
/// Why an epoch's group failed, as data: the first failure of a group is kept, sent to the
/// neighbours in an abort frame, and turned into an exception naming the epoch and whatever
/// operation each member is in, so every member reports the same cause.
/// </summary>
/// <param name="Origin">The member that saw the failure first, e.g. "rank 2 (process 'b' at 127.0.0.1:4000)".</param>
/// <param name="Reason">What it saw; for a mismatch, what each member issued.</param>
/// <param name="MissingRanks">For a time-out: the global ranks waited for.</param>
internal sealed record CollectiveFailure(FailureKind Kind, string Origin, string Reason, IReadOnlyList<int> MissingRanks, double TimeoutSeconds)
{
    public static CollectiveFailure Aborted(string origin, string reason) => new(FailureKind.Aborted, origin, reason, [], 0);

    public static CollectiveFailure TimedOut(string origin, string reason, IReadOnlyList<int> missingRanks, TimeSpan timeout) =>
        new(FailureKind.TimedOut, origin, reason, missingRanks, timeout.TotalSeconds);

    public static CollectiveFailure Mismatch(string origin, string detail) => new(FailureKind.Mismatch, origin, detail, [], 0);

    /// <summary>The same failure as an exception some member already threw (e.g. the in-process part of a hierarchical group).</summary>
    public static CollectiveFailure From(CollectiveException error, string origin) => error switch
    {
        CollectiveTimeoutException t => TimedOut(origin, t.Message, t.MissingRanks, t.Timeout),
        CollectiveMismatchException m => Mismatch(origin, m.Detail),
        CollectiveAbortedException a => Aborted(origin, a.Reason),
        _ => Aborted(origin, error.Message),
    };

    /// <summary>One line for logs and for the in-process members that only see a reason string.</summary>
    public string Describe() => Kind switch
    {
        FailureKind.TimedOut => $"{Origin}: {Reason}",
        FailureKind.Mismatch => $"{Origin}: members disagree: {Reason}",
        _ => $"{Origin}: {Reason}",
    };

    public CollectiveException ToException(long epoch, string operation) => Kind switch
    {
        FailureKind.TimedOut => new CollectiveTimeoutException(epoch, operation, TimeSpan.FromSeconds(TimeoutSeconds), MissingRanks),
        FailureKind.Mismatch => new CollectiveMismatchException(epoch, operation, $"{Reason} (seen by {Origin})"),
        _ => new CollectiveAbortedException(epoch, operation, Describe()),
    };

    public byte[] Encode() => Wire.Encode(w =>
    {
        w.Write((byte)Kind);
        w.Write(Wire.Truncate(Origin, 500));
        w.Write(Wire.Truncate(Reason, 4000));
        w.Write(MissingRanks.Count);
        foreach (int r in MissingRanks)
        {
            w.Write(r);
        }
        w.Write(TimeoutSeconds);
    });

    public static CollectiveFailure Decode(byte[] payload) => Wire.Decode(payload, r =>
    {
        var kind = (FailureKind)r.ReadByte();
        string origin = r.ReadString();
        string reason = r.ReadString();
        int count = r.ReadInt32();
        if (count < 0 || count > 1 << 16)
        {
            throw new InvalidDataException($"abort frame lists {count} missing ranks");
        }
        var missing = new int[count];
        for (int i = 0; i < count; i++)
        {
            missing[i] = r.ReadInt32();
        }
        return new CollectiveFailure(kind, origin, reason, missing, r.ReadDouble());
    });
}
