namespace Atalaya.Tests.Kpi.Reference;

/// <summary>The values of a row's group_by dimensions, in group_by order; null where an event lacks the dimension.</summary>
public sealed class GroupKey : IEquatable<GroupKey>, IComparable<GroupKey>
{
    public static readonly GroupKey Empty = new([]);

    public GroupKey(IReadOnlyList<string?> values)
    {
        Values = values;
    }

    public IReadOnlyList<string?> Values { get; }

    public bool Equals(GroupKey? other) => other is not null && Values.SequenceEqual(other.Values, StringComparer.Ordinal);

    public override bool Equals(object? obj) => Equals(obj as GroupKey);

    public override int GetHashCode() => Values.Aggregate(17, (hash, v) => (hash * 31) + (v is null ? 0 : StringComparer.Ordinal.GetHashCode(v)));

    /// <summary>Value by value, null first, then ordinal.</summary>
    public int CompareTo(GroupKey? other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (mine, theirs) in Values.Zip(other.Values))
        {
            var order = string.CompareOrdinal(mine, theirs);
            if (order != 0)
            {
                return order;
            }
        }
        return Values.Count.CompareTo(other.Values.Count);
    }

    public override string ToString() => Values.Count == 0 ? "(all)" : "(" + string.Join(", ", Values.Select(v => v ?? "null")) + ")";
}
