using GppfActors.Tasks.Definitions;
using static TorchSharp.torch;

namespace GppfActors.Tasks.Heads;

// Shapes: B batch, K classes, P dynamic parameters, Cm mask channels, N detection locations,
// M = h0 x w0 cells of the finest level, D = K + 5 + P.

/// <summary>
/// The packed output of <see cref="CondInstHead"/> for one input size: which rows and channels are
/// the detection output, the dynamic parameters and the mask features. Shared by the head, the loss
/// and the decoder.
/// </summary>
/// <param name="Detection">The detection head's location layout; its first level is the mask features' grid.</param>
/// <param name="NumClasses">Classes K.</param>
/// <param name="Options">The mask options the head was built with.</param>
/// <param name="SizeRangeScale">The detection options' size range scale: relative coordinates are divided by it x the instance's level stride.</param>
public sealed record InstanceMaskLayout(FcosLayout Detection, int NumClasses, InstanceSegmentationOptions Options, double SizeRangeScale)
{
    /// <summary>Channels D of the packed output for <paramref name="numClasses"/> classes.</summary>
    public static int Width(int numClasses, InstanceSegmentationOptions options) => Math.Max(numClasses + 5 + options.NumDynamicParams, options.MaskChannels);

    /// <summary>The mask features' grid: the finest detection level.</summary>
    public FcosLevel MaskLevel => Detection.Levels[0];

    /// <summary>Rows of the packed output, N + M.</summary>
    public int NumRows => Detection.NumLocations + MaskLevel.NumLocations;

    /// <summary>Channels of the packed output.</summary>
    public int NumChannels => Width(NumClasses, Options);

    /// <summary>The three parts of <paramref name="output"/> [B, N + M, D]: detection [B, N, K+5], parameters [B, N, P], mask features [B, Cm, h0, w0] (views).</summary>
    public (Tensor Detection, Tensor Parameters, Tensor MaskFeatures) Split(Tensor output)
    {
        if (output.dim() != 3 || output.shape[1] != NumRows || output.shape[2] != NumChannels)
        {
            throw new ArgumentException(
                $"instance segmentation output [{string.Join(", ", output.shape)}] does not match the layout for {Detection.ImageSize} " +
                $"([B, {NumRows}, {NumChannels}]); was the head built for another backbone?");
        }
        int n = Detection.NumLocations, k = NumClasses + 5;
        var detection = output[.., ..n, ..k];                                               // [B, N, K+5]
        var parameters = output[.., ..n, k..(k + Options.NumDynamicParams)];                // [B, N, P]
        var features = output[.., n.., ..Options.MaskChannels]                              // [B, M, Cm]
            .transpose(1, 2).reshape(output.shape[0], Options.MaskChannels, MaskLevel.Height, MaskLevel.Width);  // [B, Cm, h0, w0]
        return (detection, parameters, features);
    }

    /// <summary>Per detection location, the length relative coordinates are divided by: size range scale x its level's stride; [N] float32.</summary>
    public Tensor CoordinateScales(Device device)
    {
        var scales = new float[Detection.NumLocations];
        int at = 0;
        foreach (var level in Detection.Levels)
        {
            Array.Fill(scales, (float)(SizeRangeScale * level.Stride), at, level.NumLocations);
            at += level.NumLocations;
        }
        return tensor(scales).to(device);
    }

    /// <summary>Cell centres (x, y) of the mask grid in input pixels, as the detection layout places its first level's; [M, 2].</summary>
    public Tensor MaskPoints(Device device) => Detection.Locations(device).Points[..MaskLevel.NumLocations];

    /// <summary>How many times the dynamic head's output is upsampled so that a mask pixel covers <see cref="InstanceSegmentationOptions.MaskOutStride"/> input pixels (1 when the grid is finer already).</summary>
    public int UpsampleFactor => Math.Max(1, MaskLevel.Stride / Options.MaskOutStride);

    /// <summary>Input pixels per pixel of the mask logits the loss reads.</summary>
    public int LogitStride => MaskLevel.Stride / UpsampleFactor;
}
