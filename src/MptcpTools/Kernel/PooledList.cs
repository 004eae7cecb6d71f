using System;
using System.Buffers;
using System.Runtime.CompilerServices;

namespace MptcpTools.Kernel;

/// <summary>
/// A growable array rented from the shared ArrayPool. A listing of tens of thousands of sockets needs lists that
/// large; allocated anew on every call they land on the large-object heap and bring on full collections.
/// </summary>
internal sealed class PooledList<T> : IDisposable
{
    private T[] _items;

    public PooledList(int capacity = 256) => _items = ArrayPool<T>.Shared.Rent(capacity);

    public int Count { get; private set; }

    public void Add(T item)
    {
        if (Count == _items.Length)
        {
            T[] bigger = ArrayPool<T>.Shared.Rent(_items.Length * 2);
            _items.AsSpan(0, Count).CopyTo(bigger);
            Return();
            _items = bigger;
        }

        _items[Count++] = item;
    }

    public Span<T> AsSpan() => _items.AsSpan(0, Count);

    public T[] ToArray() => AsSpan().ToArray();

    public void Dispose()
    {
        Return();
        _items = Array.Empty<T>();
        Count = 0;
    }

    private void Return()
    {
        if (_items.Length > 0)
        {
            ArrayPool<T>.Shared.Return(_items, clearArray: RuntimeHelpers.IsReferenceOrContainsReferences<T>());
        }
    }
}
