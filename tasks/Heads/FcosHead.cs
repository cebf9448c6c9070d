using GppfActors.Model.Precision;
using GppfActors.Tasks.Definitions;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, C pyramid channels, K classes, h x w one level, N locations over all levels.

/// <summary>
/// A one-stage anchor-free detection head (FCOS) over a small FPN built from the last stages: a
/// class tower and a box tower shared by all levels (3x3 conv + GroupNorm + ReLU), per-location
/// class logits, ltrb distances in input pixels and a centerness logit (on the box tower, as in
/// FCOS's later versions). Owned by the network as the task's head.
/// Output, packed: [B, N, K + 4 + 1] with N = sum of the levels' H x W (see <see cref="FcosLayout"/>),
/// channels = K class logits, then l, t, r, b in pixels (positive), then the centerness logit.
/// Keys: fpn.*, cls_tower.{i}.*, box_tower.{i}.*, cls_logits.*, bbox_pred.*, centerness.*, scales.{i}.scale.
/// </summary>
public sealed class FcosHead : nn.Module<IReadOnlyList<Tensor>, Tensor>
{
    // exp(11) ~ 6e4 strides: beyond any image, and keeps exp finite in float16/float32.
    private const double MaxLogDistance = 11;

    private readonly FeaturePyramid fpn;
    private readonly ModuleList<ConvNormAct> cls_tower;
    private readonly ModuleList<ConvNormAct> box_tower;
    private readonly Conv2d cls_logits;
    private readonly Conv2d bbox_pred;
    private readonly Conv2d centerness;
    private readonly ModuleList<LevelScale> scales;
    private readonly int[] strides;

    /// <summary>A head over stages of <paramref name="stageChannels"/>, with levels at <paramref name="levelStrides"/> (the last stages), for <paramref name="numClasses"/> classes.</summary>
    public FcosHead(IReadOnlyList<long> stageChannels, IReadOnlyList<int> levelStrides, int numClasses, DetectionOptions options, Generator generator)
        : base(nameof(FcosHead))
    {
        if (levelStrides.Count < 1 || levelStrides.Count > stageChannels.Count)
        {
            throw new ArgumentException($"the head needs 1..{stageChannels.Count} levels, got {levelStrides.Count}", nameof(levelStrides));
        }
        strides = levelStrides.ToArray();
        long c = options.FpnChannels;
        fpn = new FeaturePyramid(stageChannels.Skip(stageChannels.Count - strides.Length).ToArray(), c, generator);
        cls_tower = nn.ModuleList(Enumerable.Range(0, options.NumTowerConvs).Select(_ => new ConvNormAct(c, c, 3, generator)).ToArray());
        box_tower = nn.ModuleList(Enumerable.Range(0, options.NumTowerConvs).Select(_ => new ConvNormAct(c, c, 3, generator)).ToArray());
        cls_logits = nn.Conv2d(c, numClasses, 3, padding: 1);
        bbox_pred = nn.Conv2d(c, 4, 3, padding: 1);
        centerness = nn.Conv2d(c, 1, 3, padding: 1);
        // The prior makes every location start as background with probability 1 - p, so the
        // thousands of easy negatives do not swamp the first steps (focal loss paper, section 4.1).
        double priorBias = -Math.Log((1 - options.PriorProbability) / options.PriorProbability);
        HeadInit.Normal(cls_logits.weight!, cls_logits.bias, 0.01, generator, priorBias);
        HeadInit.Normal(bbox_pred.weight!, bbox_pred.bias, 0.01, generator);
        HeadInit.Normal(centerness.weight!, centerness.bias, 0.01, generator);
        scales = nn.ModuleList(strides.Select(_ => new LevelScale()).ToArray());
        NumClasses = numClasses;
        RegisterComponents();
    }

    /// <summary>Classes K.</summary>
    public int NumClasses { get; }

    /// <summary>Input pixels per cell of each level, finest first.</summary>
    public IReadOnlyList<int> Strides => strides;

    public override Tensor forward(IReadOnlyList<Tensor> features) => ForwardParts(features).Packed;

    /// <summary>
    /// The packed output [B, N, K+5] together with what heads built on this one read: the pyramid
    /// levels (each [B, C, h, w], finest first) and the box tower's output on each level.
    /// </summary>
    public (Tensor Packed, IReadOnlyList<Tensor> Pyramid, IReadOnlyList<Tensor> BoxTowers) ForwardParts(IReadOnlyList<Tensor> features)
    {
        var levels = fpn.forward(features.Skip(features.Count - strides.Length).ToArray());
        var packed = new Tensor[levels.Count];
        var towers = new Tensor[levels.Count];
        for (int i = 0; i < levels.Count; i++)
        {
            var c = levels[i];
            var b = levels[i];
            for (int k = 0; k < cls_tower.Count; k++)
            {
                c = cls_tower[k].forward(c);                                // [B, C, h, w]
                b = box_tower[k].forward(b);                                // [B, C, h, w]
            }
            var logits = cls_logits.AutocastForward(c);                     // [B, K, h, w]
            // exp keeps distances positive; the stride puts level outputs on a common pixel scale.
            var ltrb = scales[i].forward(bbox_pred.AutocastForward(b)).clamp(max: MaxLogDistance).exp() * strides[i]; // [B, 4, h, w]
            var ctr = centerness.AutocastForward(b);                        // [B, 1, h, w]
            var level = cat([logits, ltrb, ctr], 1);                        // [B, K+5, h, w]
            packed[i] = level.flatten(2).transpose(1, 2);                   // [B, h*w, K+5]
            towers[i] = b;
        }
        return (cat(packed, 1), levels, towers);                            // [B, N, K+5]
    }
}
