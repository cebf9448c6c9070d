namespace GppfActors.Tasks.Data;

/// <summary>ImageNet mean and standard deviation per RGB channel, the normalisation every pre-trained backbone expects.</summary>
public static class ImageNormalization
{
    public static readonly float[] Mean = [0.485f, 0.456f, 0.406f];

    public static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>Normalised value of an 8-bit channel value.</summary>
    public static float Normalize(float value255, int channel) => (value255 / 255f - Mean[channel]) / Std[channel];

    /// <summary>The 8-bit channel value a normalised value came from (for tests and debugging dumps).</summary>
    public static float Denormalize(float normalized, int channel) => (normalized * Std[channel] + Mean[channel]) * 255f;
}
