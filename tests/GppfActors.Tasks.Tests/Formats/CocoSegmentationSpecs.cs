using System.Text.Json;
using GppfActors.Tasks.Formats;
using Xunit;

namespace GppfActors.Tasks.Tests.Formats;

public sealed class CocoSegmentationSpecs
{
    // A 3 x 4 (height x width) mask, rows as written:
    //   . # # .
    //   . # . .
    //   . . . #
    // Column-major it reads 000 110 100 001: runs background 3, fg 2, bg 1, fg 1, bg 4, fg 1.
    private static readonly bool[,] Expected =
    {
        { false, true, true, false },
        { false, true, false, false },
        { false, false, false, true },
    };

    private static BinaryMask Decode(string json, int width, int height) =>
        CocoSegmentation.Decode(JsonDocument.Parse(json).RootElement, width, height, "instances.json", "annotations[0].segmentation");

    private static void AssertMask(bool[,] expected, BinaryMask mask)
    {
        Assert.Equal(expected.GetLength(0), mask.Height);
        Assert.Equal(expected.GetLength(1), mask.Width);
        for (int y = 0; y < mask.Height; y++)
        {
            for (int x = 0; x < mask.Width; x++)
            {
                Assert.True(expected[y, x] == mask[y, x], $"pixel ({x}, {y})");
            }
        }
    }

    [Fact]
    public void Should_decode_uncompressed_rle_column_major_starting_with_background()
    {
        AssertMask(Expected, Decode("""{"counts": [3, 2, 1, 1, 4, 1], "size": [3, 4]}""", 4, 3));
    }

    [Fact]
    public void Should_decode_compressed_rle_with_differences_from_the_count_two_before()
    {
        // 3 -> '3', 2 -> '2', 1 -> '1'; from the fourth count on, the difference from the count two
        // before: 1 - 2 = -1 -> group 31 with the sign bit -> 'O'; 4 - 1 = 3 -> '3'; 1 - 1 = 0 -> '0'.
        AssertMask(Expected, Decode("""{"counts": "321O30", "size": [3, 4]}""", 4, 3));
    }

    [Theory]
    [InlineData("04", new long[] { 0, 4 })]
    // 10 -> ':' (58); 20 has bit 0x10 set, so it needs a second group: 'd' (20 | 0x20, + 48) then '0';
    // 30 (the third count, stored as it is) -> 'n' (30 | 0x20) then '0'.
    [InlineData(":d0n0", new long[] { 10, 20, 30 })]
    // 30 -> 'n' '0'; 5 -> '5'; 30 -> 'n' '0'; the fourth, 1, as 1 - 5 = -4 -> group 28 with the sign
    // bit -> 'L'; the fifth, 10, as 10 - 30 = -20 -> groups 12 (more follow) and 31 (last, sign) -> '\' 'O'.
    [InlineData("n05n0L\\O", new long[] { 30, 5, 30, 1, 10 })]
    public void Should_read_pycocotools_counts_strings(string text, long[] counts)
    {
        Assert.Equal(counts, CocoSegmentation.DecodeCounts(text));
    }

    [Fact]
    public void Should_rasterise_polygons_by_pixel_centres_and_join_an_objects_polygons()
    {
        var rectangle = Decode("[[1, 1, 4, 1, 4, 3, 1, 3]]", 5, 4);
        AssertMask(new bool[,]
        {
            { false, false, false, false, false },
            { false, true, true, true, false },
            { false, true, true, true, false },
            { false, false, false, false, false },
        }, rectangle);

        var two = Decode("[[0, 0, 1, 0, 1, 1, 0, 1], [3, 3, 5, 3, 5, 4, 3, 4]]", 5, 4);
        Assert.Equal(3, two.Area);
        Assert.True(two[0, 0] && two[3, 3] && two[3, 4]);
    }

    [Theory]
    [InlineData("""{"counts": [3, 2], "size": [3, 4]}""", "annotations[0].segmentation.counts", "cover 5 pixels")]
    [InlineData("""{"counts": [12], "size": [4, 4]}""", "annotations[0].segmentation", "RLE size [4, 4] is not the image's [3, 4]")]
    [InlineData("""{"counts": "3 2", "size": [3, 4]}""", "annotations[0].segmentation.counts", "character ' '")]
    [InlineData("""{"counts": "3d", "size": [3, 4]}""", "annotations[0].segmentation.counts", "end inside a number")]
    [InlineData("""[[1, 1, 2, 2]]""", "annotations[0].segmentation[0]", "at least 3 x, y pairs")]
    [InlineData("""{"size": [3, 4]}""", "annotations[0].segmentation", "needs \"counts\"")]
    public void Should_name_the_file_and_field_of_a_malformed_segmentation(string json, string path, string problem)
    {
        var e = Assert.Throws<DataFormatException>(() => Decode(json, 4, 3));
        Assert.Equal("instances.json", e.FilePath);
        Assert.Equal(path, e.JsonPath);
        Assert.Contains(problem, e.Message);
    }
}
