using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using GppfActors.Collectives.Nccl;

namespace GppfActors.Testing;

/// <summary>
/// A simulated NCCL and CUDA runtime behind <see cref="INcclApi"/>, over host memory: communicators
/// form when every rank of a unique id has called init, grouped operations run once every rank has
/// submitted them (sums in rank order, on the real tensor memory), and events complete when the
/// operations before them ran. It records every call, and what a real NCCL would reject or crash on
/// (collectives outside a group, use of an aborted communicator) as violations. Behaviours make the
/// failures the group must survive: operations that never complete, a group end that blocks.
/// </summary>
internal sealed unsafe class FakeNccl : INcclApi
{
    public enum Behaviour
    {
        Normal,
        OperationsNeverComplete,
        GroupEndBlocksUntilAbort,
        EnqueueFails,
    }

    public sealed record Call(int Thread, string Name, IntPtr Comm, string Detail);

    private sealed class Comm(IntPtr handle, Clique clique, int rank)
    {
        public IntPtr Handle { get; } = handle;
        public Clique Clique { get; } = clique;
        public int Rank { get; } = rank;
        public bool Aborted { get; set; }
        public bool Destroyed { get; set; }
        public long Submitted { get; set; }
    }

    private sealed class Clique(int size)
    {
        public int Size { get; } = size;
        public Comm?[] Members { get; } = new Comm?[size];
        public List<Op>[] Queues { get; } = [.. Enumerable.Range(0, size).Select(_ => new List<Op>())];
        public long Executed { get; set; }
        public bool Formed => Members.All(m => m is not null);
    }

    private sealed record Op(string Kind, IntPtr Send, IntPtr Receive, ulong Count, NcclDataType Type, int Root);

    private sealed class ThreadState
    {
        public int Depth;
        public List<(Comm Comm, Op Op)> Pending { get; } = [];
        public (Comm Comm, long Seq)? LastSubmitted;
    }

    private readonly object _gate = new();
    private readonly Dictionary<string, Clique> _cliques = [];
    private readonly Dictionary<IntPtr, Comm> _comms = [];
    private readonly Dictionary<IntPtr, (Comm? Comm, long Seq)> _events = [];
    private readonly ThreadLocal<ThreadState> _thread = new(() => new ThreadState());
    private nint _nextHandle = 0x1000;
    private ulong _nextId = 0x5eed;

    public FakeNccl(Behaviour behaviour = Behaviour.Normal) => Mode = behaviour;

    public Behaviour Mode { get; set; }

    public ConcurrentQueue<Call> Calls { get; } = new();

    public ConcurrentQueue<string> Violations { get; } = new();

    /// <summary>The unique ids passed to init, by communicator.</summary>
    public ConcurrentDictionary<IntPtr, byte[]> InitIds { get; } = new();

    /// <summary>The configs passed to init, by communicator.</summary>
    public ConcurrentDictionary<IntPtr, NcclConfig> InitConfigs { get; } = new();

    public IReadOnlyList<Call> CallsOf(int thread) => [.. Calls.Where(c => c.Thread == thread)];

    private void Record(string name, IntPtr comm = default, string detail = "") =>
        Calls.Enqueue(new Call(Environment.CurrentManagedThreadId, name, comm, detail));

    public int GetVersion() => 22903;

    public NcclUniqueId GetUniqueId()
    {
        Record("ncclGetUniqueId");
        var id = new NcclUniqueId();
        lock (_gate)
        {
            for (int i = 0; i < NcclUniqueId.Bytes; i++)
            {
                id[i] = (byte)(_nextId >> (8 * (i % 8)));
            }
            _nextId = _nextId * 6364136223846793005UL + 1442695040888963407UL;
        }
        return id;
    }

    public NcclResult CommInitRankConfig(out IntPtr comm, int numRanks, NcclUniqueId id, int rank, ref NcclConfig config)
    {
        var bytes = ((ReadOnlySpan<byte>)id).ToArray();
        lock (_gate)
        {
            string key = Convert.ToBase64String(bytes);
            if (!_cliques.TryGetValue(key, out var clique))
            {
                _cliques[key] = clique = new Clique(numRanks);
            }
            if (clique.Size != numRanks || rank < 0 || rank >= numRanks || clique.Members[rank] is not null)
            {
                comm = IntPtr.Zero;
                Violations.Enqueue($"init: rank {rank} of {numRanks} does not fit a clique of {clique.Size}");
                return NcclResult.InvalidArgument;
            }
            var created = new Comm(_nextHandle++, clique, rank);
            clique.Members[rank] = created;
            _comms[created.Handle] = created;
            comm = created.Handle;
        }
        InitIds[comm] = bytes;
        InitConfigs[comm] = config;
        Record("ncclCommInitRankConfig", comm, $"rank {rank} of {numRanks}");
        return NcclResult.InProgress;
    }

    public NcclResult GroupStart()
    {
        _thread.Value!.Depth++;
        Record("ncclGroupStart");
        return NcclResult.Success;
    }

    public NcclResult GroupEnd()
    {
        var state = _thread.Value!;
        Record("ncclGroupEnd");
        if (--state.Depth > 0)
        {
            return NcclResult.Success;
        }
        lock (_gate)
        {
            if (Mode == Behaviour.GroupEndBlocksUntilAbort)
            {
                var comms = state.Pending.Select(p => p.Comm).Distinct().ToList();
                while (!comms.Any(c => c.Aborted))
                {
                    Monitor.Wait(_gate);
                }
                state.Pending.Clear();
                return NcclResult.InternalError;
            }
            foreach (var (comm, op) in state.Pending)
            {
                comm.Clique.Queues[comm.Rank].Add(op);
                comm.Submitted++;
                state.LastSubmitted = (comm, comm.Submitted);
            }
            foreach (var clique in state.Pending.Select(p => p.Comm.Clique).Distinct())
            {
                RunReady(clique);
            }
            state.Pending.Clear();
        }
        return NcclResult.Success;
    }

    public NcclResult AllReduce(IntPtr send, IntPtr receive, ulong count, NcclDataType type, NcclRedOp op, IntPtr comm, IntPtr stream)
    {
        if (op != NcclRedOp.Sum)
        {
            Violations.Enqueue($"all-reduce with {op}: only sums are simulated");
        }
        return Enqueue("ncclAllReduce", comm, new Op("all-reduce", send, receive, count, type, -1), stream);
    }

    public NcclResult Broadcast(IntPtr send, IntPtr receive, ulong count, NcclDataType type, int root, IntPtr comm, IntPtr stream) =>
        Enqueue("ncclBroadcast", comm, new Op("broadcast", send, receive, count, type, root), stream);

    public NcclResult AllGather(IntPtr send, IntPtr receive, ulong sendCount, NcclDataType type, IntPtr comm, IntPtr stream) =>
        Enqueue("ncclAllGather", comm, new Op("all-gather", send, receive, sendCount, type, -1), stream);

    private NcclResult Enqueue(string name, IntPtr handle, Op op, IntPtr stream)
    {
        Record(name, handle, $"{op.Count} x {op.Type}");
        var state = _thread.Value!;
        if (state.Depth == 0)
        {
            Violations.Enqueue($"{name} outside ncclGroupStart/End");
        }
        if (stream != IntPtr.Zero)
        {
            Violations.Enqueue($"{name} on stream {stream}, not the default stream");
        }
        if (Mode == Behaviour.EnqueueFails)
        {
            return NcclResult.InvalidUsage;
        }
        lock (_gate)
        {
            if (!_comms.TryGetValue(handle, out var comm) || comm.Aborted || comm.Destroyed)
            {
                Violations.Enqueue($"{name} on a communicator that is gone");
                return NcclResult.InvalidUsage;
            }
            state.Pending.Add((comm, op));
        }
        return NcclResult.Success;
    }

    public NcclResult CommGetAsyncError(IntPtr handle, out NcclResult asyncError)
    {
        lock (_gate)
        {
            if (!_comms.TryGetValue(handle, out var comm) || comm.Aborted || comm.Destroyed)
            {
                Violations.Enqueue("ncclCommGetAsyncError on a communicator that is gone");
                asyncError = NcclResult.InvalidUsage;
                return NcclResult.InvalidArgument;
            }
            asyncError = comm.Clique.Formed ? NcclResult.Success : NcclResult.InProgress;
            return NcclResult.Success;
        }
    }

    public NcclResult CommAbort(IntPtr handle)
    {
        Record("ncclCommAbort", handle);
        lock (_gate)
        {
            if (!_comms.TryGetValue(handle, out var comm) || comm.Aborted || comm.Destroyed)
            {
                Violations.Enqueue("ncclCommAbort on a communicator that is gone");
                return NcclResult.InvalidArgument;
            }
            comm.Aborted = true;
            Monitor.PulseAll(_gate);
        }
        return NcclResult.Success;
    }

    public NcclResult CommDestroy(IntPtr handle)
    {
        Record("ncclCommDestroy", handle);
        lock (_gate)
        {
            if (!_comms.TryGetValue(handle, out var comm) || comm.Aborted || comm.Destroyed)
            {
                Violations.Enqueue("ncclCommDestroy on a communicator that is gone");
                return NcclResult.InvalidArgument;
            }
            comm.Destroyed = true;
        }
        return NcclResult.Success;
    }

    public string ErrorString(NcclResult result) => $"simulated {result}";

    public int SetDevice(int ordinal)
    {
        Record("cudaSetDevice", detail: ordinal.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return 0;
    }

    public IntPtr CreateEvent()
    {
        lock (_gate)
        {
            IntPtr handle = _nextHandle++;
            _events[handle] = (null, 0);
            return handle;
        }
    }

    public int RecordEvent(IntPtr cudaEvent, IntPtr stream)
    {
        Record("cudaEventRecord");
        lock (_gate)
        {
            var last = _thread.Value!.LastSubmitted;
            _events[cudaEvent] = last is { } l ? (l.Comm, l.Seq) : (null, 0);
        }
        return 0;
    }

    public CudaEventState QueryEvent(IntPtr cudaEvent)
    {
        lock (_gate)
        {
            var (comm, seq) = _events[cudaEvent];
            // An aborted communicator's kernels are stopped, so the stream moves on.
            return comm is null || comm.Aborted || comm.Clique.Executed >= seq ? CudaEventState.Done : CudaEventState.NotReady;
        }
    }

    public void DestroyEvent(IntPtr cudaEvent)
    {
        lock (_gate)
        {
            _events.Remove(cudaEvent);
        }
    }

    // Runs every operation that all ranks of the clique have submitted, in submission order.
    private void RunReady(Clique clique)
    {
        while (Mode != Behaviour.OperationsNeverComplete && clique.Formed && clique.Queues.All(q => q.Count > clique.Executed))
        {
            var ops = clique.Queues.Select(q => q[(int)clique.Executed]).ToArray();
            if (ops.Any(o => o.Kind != ops[0].Kind || o.Count != ops[0].Count || o.Type != ops[0].Type || o.Root != ops[0].Root))
            {
                Violations.Enqueue($"ranks issued different operations: {string.Join(", ", ops.Select(o => $"{o.Kind} {o.Count} x {o.Type}"))}");
            }
            Execute(ops);
            clique.Executed++;
        }
    }

    private static void Execute(Op[] ops)
    {
        int size = ElementSize(ops[0].Type);
        long bytes = (long)ops[0].Count * size;
        var inputs = ops.Select(o => new ReadOnlySpan<byte>((void*)o.Send, checked((int)bytes)).ToArray()).ToArray();
        switch (ops[0].Kind)
        {
            case "all-reduce":
                var sum = inputs[0];
                for (int r = 1; r < inputs.Length; r++)
                {
                    Add(sum, inputs[r], ops[0].Type);
                }
                foreach (var o in ops)
                {
                    sum.CopyTo(new Span<byte>((void*)o.Receive, sum.Length));
                }
                break;
            case "broadcast":
                foreach (var o in ops)
                {
                    inputs[o.Root].CopyTo(new Span<byte>((void*)o.Receive, inputs[o.Root].Length));
                }
                break;
            case "all-gather":
                foreach (var o in ops)
                {
                    for (int r = 0; r < inputs.Length; r++)
                    {
                        inputs[r].CopyTo(new Span<byte>((void*)(o.Receive + (nint)(r * bytes)), inputs[r].Length));
                    }
                }
                break;
        }
    }

    private static int ElementSize(NcclDataType type) => type switch
    {
        NcclDataType.Int8 or NcclDataType.Uint8 => 1,
        NcclDataType.Float16 or NcclDataType.Bfloat16 => 2,
        NcclDataType.Int32 or NcclDataType.Uint32 or NcclDataType.Float32 => 4,
        _ => 8,
    };

    private static void Add(byte[] into, byte[] add, NcclDataType type)
    {
        switch (type)
        {
            case NcclDataType.Float32:
                AddAs<float>(into, add);
                break;
            case NcclDataType.Float64:
                AddAs<double>(into, add);
                break;
            case NcclDataType.Int32:
                AddAs<int>(into, add);
                break;
            case NcclDataType.Int64:
                AddAs<long>(into, add);
                break;
            default:
                throw new NotSupportedException($"the simulated NCCL sums float32/64 and int32/64, not {type}");
        }
    }

    private static void AddAs<T>(byte[] into, byte[] add) where T : unmanaged, System.Numerics.IAdditionOperators<T, T, T>
    {
        var a = MemoryMarshal.Cast<byte, T>(into.AsSpan());
        var b = MemoryMarshal.Cast<byte, T>((ReadOnlySpan<byte>)add);
        for (int i = 0; i < a.Length; i++)
        {
            a[i] += b[i];
        }
    }
}
