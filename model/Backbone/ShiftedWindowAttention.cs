using GppfActors.Model.Precision;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace GppfActors.Model.Backbone;

/// <summary>
/// Windowed multi-head self-attention with relative position bias, optionally over windows shifted
/// by half a window (W-MSA / SW-MSA of Swin); part of a <see cref="SwinBlock"/>. Keys (torchvision's):
/// <c>qkv.*</c>, <c>proj.*</c>, <c>relative_position_bias_table</c>, <c>relative_position_index</c>.
/// </summary>
/// <remarks>
/// Letters: B batch, H x W tokens, C channels, P = ceil(H/w)*w x ceil(W/w)*w padded, nW windows,
/// n = w*w tokens per window, h heads, d = C/h. Padding follows torchvision's
/// <c>shifted_window_attention</c>: zeros on the right and bottom up to a multiple of the window,
/// cropped after; a dimension whose padded size is no larger than the window is not shifted (it is
/// one window). torchvision writes that decision into the module's shift list, so one small input
/// disables the shift for good; here it is decided per call.
/// </remarks>
public sealed class ShiftedWindowAttention : nn.Module<Tensor, Tensor>
{
    private readonly Linear qkv;
    private readonly Linear proj;
    private readonly Parameter relative_position_bias_table;
    private readonly Tensor relative_position_index;
    private readonly long window;
    private readonly long shift;
    private readonly long heads;

    /// <summary>Attention over <paramref name="windowSize"/>-token windows of <paramref name="dim"/> channels, shifted by <paramref name="shiftSize"/>.</summary>
    public ShiftedWindowAttention(long dim, long numHeads, long windowSize, long shiftSize, Generator generator) : base(nameof(ShiftedWindowAttention))
    {
        window = windowSize;
        shift = shiftSize;
        heads = numHeads;
        qkv = nn.Linear(dim, 3 * dim, hasBias: true);
        proj = nn.Linear(dim, dim, hasBias: true);
        relative_position_bias_table = nn.Parameter(zeros((2 * windowSize - 1) * (2 * windowSize - 1), numHeads));
        relative_position_index = RelativePositionIndex(windowSize);
        Init.TruncatedNormal(relative_position_bias_table, 0.02, generator);
        SwinInit.Linear(qkv, generator);
        SwinInit.Linear(proj, generator);
        RegisterComponents();
    }

    /// <summary>
    /// For tokens i = (yi, xi) and j = (yj, xj) of a window, flattened row-major, entry i*n + j is
    /// (yi - yj + w - 1) * (2w - 1) + (xi - xj + w - 1): the row of the bias table for their offset.
    /// </summary>
    internal static Tensor RelativePositionIndex(long w)
    {
        long n = w * w;
        var index = new long[n * n];
        for (long i = 0; i < n; i++)
        {
            for (long j = 0; j < n; j++)
            {
                index[i * n + j] = (i / w - j / w + w - 1) * (2 * w - 1) + (i % w - j % w + w - 1);
            }
        }
        return tensor(index);                                               // [n*n]
    }

    public override Tensor forward(Tensor input)
    {
        long b = input.shape[0], hgt = input.shape[1], wid = input.shape[2], c = input.shape[3];
        long padBottom = (window - hgt % window) % window, padRight = (window - wid % window) % window;
        var x = padBottom + padRight > 0
            ? nn.functional.pad(input, [0, 0, 0, padRight, 0, padBottom])  // [B, Ph, Pw, C]
            : input;
        long ph = hgt + padBottom, pw = wid + padRight;
        long shiftH = window >= ph ? 0 : shift, shiftW = window >= pw ? 0 : shift;
        bool shifted = shiftH + shiftW > 0;
        if (shifted)
        {
            x = roll(x, [-shiftH, -shiftW], [1, 2]);
        }
        long nh = ph / window, nw = pw / window, numWindows = nh * nw, n = window * window, d = c / heads;
        x = x.view(b, nh, window, nw, window, c)                            // [B, nh, w, nw, w, C]
            .permute(0, 1, 3, 2, 4, 5).reshape(b * numWindows, n, c);       // [B*nW, n, C]
        var q_k_v = qkv.AutocastForward(x).reshape(b * numWindows, n, 3, heads, d) // [B*nW, n, 3, h, d]
            .permute(2, 0, 3, 1, 4);                                        // [3, B*nW, h, n, d]
        var q = q_k_v[0] * Math.Pow(d, -0.5);
        var attn = Autocast.MatMul(q, q_k_v[1].transpose(-2, -1));         // [B*nW, h, n, n]
        var bias = relative_position_bias_table[relative_position_index]    // [n*n, h]
            .view(n, n, heads).permute(2, 0, 1).unsqueeze(0);               // [1, h, n, n]
        attn = attn + bias;
        if (shifted)
        {
            var mask = ShiftMask(ph, pw, shiftH, shiftW).to(attn.device);    // [nW, n, n]
            attn = (attn.view(b, numWindows, heads, n, n) + mask.unsqueeze(1).unsqueeze(0))
                .view(b * numWindows, heads, n, n);                          // [B*nW, h, n, n]
        }
        attn = nn.functional.softmax(attn, -1);
        x = Autocast.MatMul(attn, q_k_v[2]).transpose(1, 2).reshape(b * numWindows, n, c); // [B*nW, n, C]
        x = proj.AutocastForward(x);
        x = x.view(b, nh, nw, window, window, c)                            // [B, nh, nw, w, w, C]
            .permute(0, 1, 3, 2, 4, 5).reshape(b, ph, pw, c);               // [B, Ph, Pw, C]
        if (shifted)
        {
            x = roll(x, [shiftH, shiftW], [1, 2]);
        }
        return padBottom + padRight > 0 ? x.narrow(1, 0, hgt).narrow(2, 0, wid).contiguous() : x; // [B, H, W, C]
    }

    // After the cyclic shift a window can hold tokens from up to 3 x 3 regions of the padded map
    // that were not neighbours; a token attends only within its region (-100 elsewhere, as Swin).
    private Tensor ShiftMask(long ph, long pw, long shiftH, long shiftW)
    {
        static long Region(long i, long size, long w, long s) => s == 0 ? 0 : i < size - w ? 0 : i < size - s ? 1 : 2;
        var labels = new float[ph * pw];
        for (long i = 0; i < ph; i++)
        {
            for (long j = 0; j < pw; j++)
            {
                labels[i * pw + j] = Region(i, ph, window, shiftH) * 3 + Region(j, pw, window, shiftW);
            }
        }
        var l = tensor(labels).view(ph / window, window, pw / window, window)   // [nh, w, nw, w]
            .permute(0, 2, 1, 3).reshape(-1, window * window);                 // [nW, n]
        var diff = l.unsqueeze(1) - l.unsqueeze(2);                             // [nW, n, n]
        return zeros_like(diff).masked_fill(diff.ne(0), -100.0);
    }
}
